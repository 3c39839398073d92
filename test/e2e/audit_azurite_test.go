//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Azurite is installed by .ci/run (and `make test-e2e`) with
// `npm install --prefix .cache/azurite azurite@3.35.0`: 3.35.0 is the newest release that
// runs on Node 20 (3.36+ require Node 22).
const azuriteInstall = "npm install --no-audit --no-fund --prefix .cache/azurite azurite@3.35.0"

// Azurite's well-known development account (documented by Microsoft; not a secret).
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

type azurite struct {
	addr string // host:port of the blob service
}

// startAzurite runs Azurite's blob service on a free port with its data in a temporary
// directory. A missing Azurite fails the test: CI installs it, so skipping would hide that the
// Azure source was not tested.
func startAzurite(t *testing.T) *azurite {
	t.Helper()
	bin := os.Getenv("AZURITE_BLOB")
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("AZURITE_BLOB=%s: %v; unset it to use the one .ci/run installs (`%s`)", bin, err, azuriteInstall)
		}
	} else {
		local, err := filepath.Abs(filepath.Join(repoRoot, ".cache", "azurite", "node_modules", ".bin", "azurite-blob"))
		if err != nil {
			t.Fatal(err)
		}
		bin = local
		if _, err := os.Stat(local); err != nil {
			if p, err := exec.LookPath("azurite-blob"); err == nil {
				bin = p
			} else {
				t.Fatalf("Azurite is not installed (no %s, no azurite-blob in PATH, AZURITE_BLOB unset): run .ci/run, or `%s` in the repository", local, azuriteInstall)
			}
		}
	}
	addr := freeAddress(t)
	host, port, _ := cutHostPort(addr)
	p := startServerProcess(t, "azurite", bin, "--blobHost", host, "--blobPort", port,
		"--location", t.TempDir(), "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry")
	p.log.waitForPrefix(t, "Azurite Blob service successfully listens on ", time.Minute)
	return &azurite{addr: addr}
}

func cutHostPort(addr string) (string, string, error) {
	u, err := url.Parse("//" + addr)
	if err != nil {
		return "", "", err
	}
	return u.Hostname(), u.Port(), nil
}

// env is what a gocloud.dev azblob client (the collector's and the simulator's) needs.
func (a *azurite) env() []string {
	return []string{
		"AZURE_STORAGE_ACCOUNT=" + azuriteAccount,
		"AZURE_STORAGE_KEY=" + azuriteKey,
		"AZURE_STORAGE_CONNECTION_STRING=",
		"AZURE_STORAGEBLOB_CONNECTIONSTRING=",
		"AZURE_STORAGE_SAS_TOKEN=",
	}
}

// bucketURL is the gocloud.dev URL of a container on this emulator.
func (a *azurite) bucketURL(container string) string {
	return fmt.Sprintf("azblob://%s?domain=%s&protocol=http&localemu=true", container, a.addr)
}

// createContainer creates a container (gocloud.dev does not create them).
func (a *azurite) createContainer(t *testing.T, name string) string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(azuriteAccount, azuriteKey)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(fmt.Sprintf("http://%s/%s/", a.addr, azuriteAccount), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.CreateContainer(ctx, name, nil); err != nil {
		t.Fatalf("create container %s on Azurite: %v", name, err)
	}
	return name
}
