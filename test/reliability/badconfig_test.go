//go:build reliability

package reliability

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// collectorPorts are the listeners every test config opens once the collector runs: the
// health_check and zpages extensions and the self-telemetry Prometheus endpoint.
type collectorPorts struct {
	health, zpages, telemetry string
}

func newCollectorPorts(t *testing.T) collectorPorts {
	return collectorPorts{health: freeAddress(t), zpages: freeAddress(t), telemetry: freeAddress(t)}
}

func (p collectorPorts) all() []string { return []string{p.health, p.zpages, p.telemetry} }

// serviceYAML is the extensions + service part of a config with one logs pipeline.
func (p collectorPorts) serviceYAML(receivers, processors, exporters string) string {
	host, port, _ := net.SplitHostPort(p.telemetry)
	procs := ""
	if processors != "" {
		procs = "      processors: [" + processors + "]\n"
	}
	return fmt.Sprintf(`extensions:
  health_check:
    endpoint: %s
  zpages:
    endpoint: %s
service:
  extensions: [health_check, zpages]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: %s
                port: %s
  pipelines:
    logs:
      receivers: [%s]
%s      exporters: [%s]
`, p.health, p.zpages, host, port, receivers, procs, exporters)
}

// badConfigCase is one wrong configuration: the component YAML (receivers/processors/
// exporters sections) and the key the error message must name.
type badConfigCase struct {
	name       string
	components string
	receivers  string
	processors string
	needs      []string // components the case uses, beyond databricks_audit and debug
	wantKeys   []string // every fragment must appear in the validate output
}

const goodAuditReceiver = `receivers:
  databricks_audit:
    source: delivery
    delivery:
      url: file:///nonexistent-reliability-dir
exporters:
  debug: {}
`

var badConfigCases = []badConfigCase{
	{
		name: "unknown key",
		components: `receivers:
  databricks_audit:
    source: delivery
    delivery:
      url: file:///tmp/x
      pol_interval: 1m
exporters:
  debug: {}
`,
		wantKeys: []string{"pol_interval"},
	},
	{
		name: "bad duration",
		components: `receivers:
  databricks_audit:
    source: delivery
    delivery:
      url: file:///tmp/x
      poll_interval: 5 minutes
exporters:
  debug: {}
`,
		wantKeys: []string{"poll_interval"},
	},
	{
		name: "negative duration",
		components: `receivers:
  databricks_audit:
    source: delivery
    delivery:
      url: file:///tmp/x
      poll_interval: -1m
exporters:
  debug: {}
`,
		wantKeys: []string{"poll_interval"},
	},
	{
		name: "missing warehouse id",
		components: `receivers:
  databricks_audit:
    source: system_table
    endpoint: http://127.0.0.1:1
    token: dapi-x
exporters:
  debug: {}
`,
		wantKeys: []string{"system_table.warehouse_id"},
	},
	{
		name: "unknown source",
		components: `receivers:
  databricks_audit:
    source: kafka
exporters:
  debug: {}
`,
		wantKeys: []string{"source"},
	},
	{
		// A delivery receiver with system_table settings: the user meant two receivers (one
		// per source); silently ignoring half of the config hides that.
		name: "conflicting sources",
		components: `receivers:
  databricks_audit:
    source: delivery
    delivery:
      url: file:///tmp/x
    system_table:
      warehouse_id: 1234567890abcdef
exporters:
  debug: {}
`,
		wantKeys: []string{"system_table"},
	},
	{
		name: "bad delivery url scheme",
		components: `receivers:
  databricks_audit:
    source: delivery
    delivery:
      url: ftp://audit.example.com/logs
exporters:
  debug: {}
`,
		wantKeys: []string{"delivery.url"},
	},
	{
		name: "bad endpoint scheme",
		components: `receivers:
  databricks_audit:
    source: system_table
    endpoint: ftp://adb-1234.5.azuredatabricks.net
    token: dapi-x
    system_table:
      warehouse_id: 1234567890abcdef
exporters:
  debug: {}
`,
		wantKeys: []string{"endpoint"},
	},
	{
		name: "token and client_id both set",
		components: `receivers:
  databricks_audit:
    source: system_table
    endpoint: https://adb-1234.5.azuredatabricks.net
    token: dapi-x
    client_id: sp-app-id
    client_secret: sp-secret
    system_table:
      warehouse_id: 1234567890abcdef
exporters:
  debug: {}
`,
		wantKeys: []string{"token", "client_id"},
	},
	{
		name:      "databricks receiver: unknown key in a section",
		receivers: "databricks",
		needs:     []string{"databricks"},
		components: `receivers:
  databricks:
    endpoint: https://adb-1234.5.azuredatabricks.net
    token: dapi-x
    clusters:
      enabled: true
      evnets: true
exporters:
  debug: {}
`,
		wantKeys: []string{"evnets"},
	},
	{
		name:       "bad OTTL in a rule",
		processors: "access_anomaly",
		needs:      []string{"access_anomaly"},
		components: goodAuditReceiver + `processors:
  access_anomaly:
    rules:
      - id: CUSTOM-1
        name: broken condition
        type: match
        severity: high
        where: 'log.attributes["databricks.action_name"] == '
`,
		wantKeys: []string{"rules", "CUSTOM-1"},
	},
	{
		name:       "unknown rule id in overrides",
		processors: "access_anomaly",
		needs:      []string{"access_anomaly"},
		components: goodAuditReceiver + `processors:
  access_anomaly:
    overrides:
      DBX-ZZ99: {enabled: false}
`,
		wantKeys: []string{"overrides", "DBX-ZZ99"},
	},
	{
		name: "alert exporter: bad min_severity",
		components: `receivers:
  databricks_audit:
    source: delivery
    delivery:
      url: file:///tmp/x
exporters:
  debug: {}
  alert:
    min_severity: urgent
    webhook:
      endpoint: http://127.0.0.1:1/hook
`,
		needs:    []string{"alert"},
		wantKeys: []string{"min_severity"},
	},
}

// TestBadConfigurationIsRejected checks, for each wrong config, that `validate` fails naming
// the key and that running the collector with it exits non-zero without ever opening a port.
func TestBadConfigurationIsRejected(t *testing.T) {
	out, _ := runCollectorCommand(t, nil, "components")
	dir := t.TempDir()

	// The control: the same frame with a good receiver validates, so a failure below is the
	// case's own doing.
	ports := newCollectorPorts(t)
	good := writeFile(t, dir, "good.yaml", strings.Replace(goodAuditReceiver, "file:///nonexistent-reliability-dir", "file://"+dir, 1)+
		ports.serviceYAML("databricks_audit", "", "debug"))
	if o, err := runCollectorCommand(t, nil, "validate", "--config", good); err != nil {
		t.Fatalf("the control config does not validate: %v\n%s", err, o)
	}
	// ... and it opens the ports the cases watch, so "never opened" below can fail.
	control := startCollector(t, good)
	waitFor(t, 30*time.Second, "the control collector's ports", func() error {
		for _, a := range ports.all() {
			if !listening(a) {
				return fmt.Errorf("%s not listening", a)
			}
		}
		return nil
	})
	control.stop(t, 30*time.Second)

	for i, tc := range badConfigCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range tc.needs {
				if !strings.Contains(out, "- name: "+n+"\n") {
					t.Skipf("the collector binary has no %q component yet; this case runs once it is built in", n)
				}
			}
			receivers := tc.receivers
			if receivers == "" {
				receivers = "databricks_audit"
			}
			ports := newCollectorPorts(t)
			cfg := writeFile(t, dir, fmt.Sprintf("case%d.yaml", i), tc.components+ports.serviceYAML(receivers, tc.processors, "debug"))

			vout, err := runCollectorCommand(t, nil, "validate", "--config", cfg)
			if err == nil {
				t.Fatalf("validate accepted the config; output:\n%s", vout)
			}
			for _, k := range tc.wantKeys {
				if !strings.Contains(vout, k) {
					t.Errorf("validate output does not name %q:\n%s", k, vout)
				}
			}

			// Running it: the collector must exit non-zero and never listen on its ports.
			p := startCollector(t, cfg)
			opened := map[string]bool{}
			deadline := time.Now().Add(60 * time.Second)
			for !p.exited() && time.Now().Before(deadline) {
				for _, a := range ports.all() {
					if listening(a) {
						opened[a] = true
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
			code := p.waitExit(t, time.Second)
			if code == 0 {
				t.Errorf("the collector exited 0 with a bad config")
			}
			if len(opened) > 0 {
				t.Errorf("the collector opened %v before failing on a bad config", opened)
			}
			if !strings.Contains(p.output.String(), tc.wantKeys[0]) {
				t.Errorf("the collector's startup error does not name %q:\n%s", tc.wantKeys[0], tail(p.output.String(), 2000))
			}
		})
	}
}

// withExtension adds an extension to a config built with serviceYAML: its definition (body
// indented by four spaces) and its name in service::extensions.
func withExtension(cfg, name, body string) string {
	cfg = strings.Replace(cfg, "\nextensions:\n", "\nextensions:\n  "+name+":\n"+body, 1)
	return strings.Replace(cfg, "  extensions: [health_check, zpages", "  extensions: [health_check, zpages, "+name, 1)
}

// withFileStorage adds a file_storage extension keeping its files in dir, created 0700.
func withFileStorage(cfg, dir string) string {
	return withExtension(cfg, "file_storage", "    directory: "+dir+"\n    create_directory: true\n    directory_permissions: \"0700\"\n")
}
