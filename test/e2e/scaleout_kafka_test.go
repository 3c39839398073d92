//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The Kafka variant of the scale-out (configs/scale-out/kafka-*.yaml) runs against an
// in-process Kafka: franz-go's kfake, served by test/kafkabroker. That program is its own Go
// module because every published kfake needs a newer franz-go than the distribution's kafka
// components pin; the test builds it from the module cache.

const (
	kafkaTopic      = "databricks_audit"
	kafkaPartitions = 6
	kafkaGroup      = "otelcol-databricks-detectors"
)

var kafkaBrokerBinary struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

func buildKafkaBroker(t *testing.T) string {
	t.Helper()
	b := &kafkaBrokerBinary
	b.once.Do(func() {
		b.path = filepath.Join(scratchDir, "kafkabroker")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(repoRoot, "test", "kafkabroker"), "-o", b.path, ".")
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("build test/kafkabroker: %v\n%s", b.err, b.out)
	}
	return b.path
}

// startKafkaBroker starts a one-broker kfake cluster with the topic created, and returns its
// address. The broker accepts the agent's messages of up to producer.max_message_bytes (8 MiB).
func startKafkaBroker(t *testing.T, topic string, partitions int) string {
	t.Helper()
	port := strings.TrimPrefix(freeAddress(t), "127.0.0.1:")
	cmd := exec.Command(buildKafkaBroker(t), "-ports", port,
		"-topic", fmt.Sprintf("%s=%d", topic, partitions),
		"-broker-config", "message.max.bytes=16777216")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(line, "brokers ")
		if !ok || addr == "" {
			t.Fatalf("kafkabroker printed %q, want \"brokers <address>\"", line)
		}
		return addr
	case err := <-done:
		t.Fatalf("kafkabroker exited before listening: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("kafkabroker did not report its address within 60s")
	}
	return ""
}

// kafkaAssignment is how many partitions of the topic each detector consumes, from the kafka
// receivers' own telemetry (partitions started minus partitions closed).
func kafkaAssignment(t *testing.T, detectors []*tier2) ([]int, error) {
	t.Helper()
	owned := make([]int, len(detectors))
	for i, d := range detectors {
		url := "http://127.0.0.1:" + d.ports.telemetryPort + "/metrics"
		started, err := telemetryCounter(url, "otelcol_kafka_receiver_partition_start", "")
		if err != nil {
			return nil, fmt.Errorf("%s: %v", d.name, err)
		}
		closed, err := telemetryCounter(url, "otelcol_kafka_receiver_partition_close", "")
		if err != nil {
			closed = 0 // the counter appears with the first partition a member gives up
		}
		owned[i] = started - closed
	}
	return owned, nil
}

// waitForStableGroup waits until every detector consumes some partitions, all partitions are
// consumed once, and that assignment held for a few seconds: records produced before the
// group settled would be processed by whichever member held the partition then, and the test
// could not tell a keying defect from a rebalance.
func waitForStableGroup(t *testing.T, detectors []*tier2, partitions int) []int {
	t.Helper()
	var (
		last       string
		stableFrom time.Time
		owned      []int
	)
	waitFor(t, 120*time.Second, "the detectors' consumer group settled", func() error {
		var err error
		if owned, err = kafkaAssignment(t, detectors); err != nil {
			return err
		}
		total := 0
		for i, n := range owned {
			if n <= 0 {
				return fmt.Errorf("%s consumes no partition yet (%v)", detectors[i].name, owned)
			}
			total += n
		}
		if total != partitions {
			return fmt.Errorf("%d of %d partitions assigned (%v)", total, partitions, owned)
		}
		if key := fmt.Sprint(owned); key != last {
			last, stableFrom = key, time.Now()
		}
		if time.Since(stableFrom) < 5*time.Second {
			return fmt.Errorf("assignment %v not stable yet", owned)
		}
		return nil
	})
	return owned
}

// Kafka variant: the agent produces the audit records keyed by identity to a topic with six
// partitions, three detectors consume it in one consumer group, the spray detector gets the
// failed logins over load_balancing. Every audit event reaches the sinks once, each identity is
// processed by one detector (so the message key really is per identity), and the findings equal
// the single collector's except for the instance-wide rules, as with load_balancing.
func TestScaleOutKafkaMatchesSingleCollector(t *testing.T) {
	requireAuditComponents(t)
	baseline := singleCollectorBaseline(t)
	w := sharedAttacksWorld(t)
	brokers := "[" + startKafkaBroker(t, kafkaTopic, kafkaPartitions) + "]"
	kafkaEnv := []string{
		"SCALEOUT_KAFKA_BROKERS=" + brokers,
		"SCALEOUT_KAFKA_TOPIC=" + kafkaTopic,
		"SCALEOUT_KAFKA_GROUP=" + kafkaGroup,
	}

	s := &scaleOut{feed: newDeliveryFeed(t, w)}
	for i := 0; i < 3; i++ {
		s.detectors = append(s.detectors, startTier2(t, fmt.Sprintf("kafka-detector-%d", i), "kafka-detector.yaml", kafkaEnv...))
	}
	owned := waitForStableGroup(t, s.detectors, kafkaPartitions)
	t.Logf("partitions per detector: %v", owned)
	s.spray = startTier2(t, "spray-detector", "spray-detector.yaml")

	ports := newCollectorPorts(t)
	s.begin = time.Now()
	agentProc := startCollector(t, shippedScaleOutConfig(t, "kafka-agent.yaml"), append(append(ports.env(), kafkaEnv...),
		"SCALEOUT_STATE_DIR="+t.TempDir(),
		"SCALEOUT_DELIVERY_URL="+s.feed.url(),
		"SCALEOUT_POLL_INTERVAL=1s",
		"SCALEOUT_RETENTION="+attacksRetention,
		"SCALEOUT_SPLIT_ENDPOINT="+freeAddress(t),
		"SCALEOUT_SPRAY_DETECTORS="+hostList([]*tier2{s.spray}),
	)...)
	waitHealthy(t, "kafka agent", ports.health)

	read := func() *sinkContents { return s.union(t) }
	feedSteps(t, s.feed, w.End, read)
	want := s.feed.deliverAll(t)
	_, complete := waitForAllRecords(t, want, read)
	got := s.union(t)

	requireNoLoss(t, got, want)
	if got.duplicates() != 0 {
		t.Errorf("%d audit records arrived twice without any fault", got.duplicates())
	}
	// The agent reduces the resource to the identity to key the messages; the detectors must
	// restore it exactly: every record keeps the resource the single collector exported.
	if got.routingCopy != 0 {
		t.Errorf("%d records still carry databricks.routing.resource: the detectors did not remove the Kafka hop's copy", got.routingCopy)
	}
	changed := 0
	for id, res := range got.resources {
		if want, ok := baseline.resources[id]; ok && want != res {
			if changed++; changed <= 3 {
				t.Errorf("event %s: resource %s at the sinks, the single collector exported %s", id, res, want)
			}
		}
	}
	if changed > 0 {
		t.Errorf("%d audit records have another resource than with the single collector", changed)
	}
	if after, err := kafkaAssignment(t, s.detectors); err != nil || fmt.Sprint(after) != fmt.Sprint(owned) {
		// a rebalance during the run would make the ownership check below meaningless
		t.Errorf("the consumer group rebalanced during the run: partitions %v before, %v after (%v)", owned, after, err)
	}
	t.Logf("ground-truth attacks missed: single collector %v, Kafka %v",
		missedExpectations(w, baseline), missedExpectations(w, got))
	requireEquivalentFindings(t, "Kafka, three detectors", got, baseline)
	perDetector := s.checkOwnership(t)
	for i, ids := range perDetector {
		if len(ids) == 0 {
			t.Errorf("%s received no identity although it consumes %d partitions", s.detectors[i].name, owned[i])
		}
	}
	agentCPU := cpuSeconds(t, agentProc.cmd.Process.Pid)
	var detCPU float64
	for _, d := range s.detectors {
		detCPU += cpuSeconds(t, d.proc.cmd.Process.Pid)
	}
	t.Logf("FIGURE kafka: %d audit events, %d (rule, entity) pairs; %.1fs from agent start (paced feed); agent cpu %.1fs (%.1f µs/event), detectors cpu %.1fs",
		want, len(got.findings), complete.Sub(s.begin).Seconds(), agentCPU, agentCPU/float64(want)*1e6, detCPU)
}
