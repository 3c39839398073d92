//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scaleOut is one two-tier deployment: an agent, identity detectors and one spray detector.
type scaleOut struct {
	feed      *deliveryFeed
	detectors []*tier2
	spray     *tier2
	agent     *agent
	begin     time.Time
}

func startScaleOut(t *testing.T, feed *deliveryFeed, detectors int, detectorEnv ...string) *scaleOut {
	t.Helper()
	s := &scaleOut{feed: feed}
	for i := 0; i < detectors; i++ {
		s.detectors = append(s.detectors, startTier2(t, fmt.Sprintf("detector-%d", i), "detector.yaml", detectorEnv...))
	}
	s.spray = startTier2(t, "spray-detector", "spray-detector.yaml")
	s.begin = time.Now()
	s.agent = startAgent(t, feed, s.detectors, s.spray)
	return s
}

// union is what every instance exported together: the view of a back end behind them.
func (s *scaleOut) union(t *testing.T) *sinkContents {
	t.Helper()
	u := newSinkContents()
	for _, d := range s.detectors {
		u.merge(d.contents(t))
	}
	u.merge(s.spray.contents(t))
	return u
}

// checkOwnership verifies that every identity was processed by exactly one detector and that
// each detector's findings are about its own identities; it returns the identities per
// detector.
func (s *scaleOut) checkOwnership(t *testing.T) []map[string]bool {
	t.Helper()
	owner := map[string]string{}
	var owned []map[string]bool
	for _, d := range s.detectors {
		c := d.contents(t)
		owned = append(owned, c.identities)
		for id := range c.identities {
			if prev, ok := owner[id]; ok {
				t.Errorf("identity %q processed by %s and %s", id, prev, d.name)
			}
			owner[id] = d.name
		}
		for rule, entities := range c.byRule {
			for e := range entities {
				if !c.identities[e] {
					t.Errorf("%s reported %s for %q, an identity it never received", d.name, rule, e)
				}
			}
		}
		if _, ok := c.byRule["DBX-W01b"]; ok {
			t.Errorf("%s reported DBX-W01b: the identity detectors must leave password spray to the spray detector", d.name)
		}
		t.Logf("%s: %d identities, %d audit records, %d findings", d.name, len(c.identities), c.auditRecords, c.findingCount())
	}
	sc := s.spray.contents(t)
	if sc.auditRecords != 0 {
		t.Errorf("the spray detector exported %d audit records; it must export findings only", sc.auditRecords)
	}
	for rule := range sc.byRule {
		if rule != "DBX-W01b" {
			t.Errorf("the spray detector reported %s; it runs DBX-W01b only", rule)
		}
	}
	return owned
}

// instanceWideRules use state shared by every identity of one instance, so their findings
// depend on which identities share it: DBX-B01 and DBX-B03 skip a value that >= 5 other
// identities use (organisation prevalence), DBX-B14 sums an identity's findings, B01/B03
// included. docs/scale-out.md states this difference.
var instanceWideRules = map[string]bool{"DBX-B01": true, "DBX-B03": true, "DBX-B14": true}

// findingDifference classifies how a run's (rule, entity) pairs differ from the single
// collector's: pairs of instance-wide rules, ground-truth attacks found by one side only, and
// anything else, which is a scale-out defect.
type findingDifference struct {
	missing, extra       []string
	instanceWide         []string
	truePlus, truthMinus []string // ground-truth attacks only the scale-out / only the single collector found
	unexplained          []string
}

func compareFindings(w interface{ truthKeys() map[string]bool }, got, single *sinkContents) findingDifference {
	var d findingDifference
	d.missing, d.extra = diffKeys(single.findingKeys(), got.findingKeys())
	truth := w.truthKeys()
	for _, k := range d.missing {
		switch {
		case instanceWideRules[strings.SplitN(k, "|", 2)[0]]:
			d.instanceWide = append(d.instanceWide, "missing "+k)
		case truth[k]:
			d.truthMinus = append(d.truthMinus, k)
		default:
			d.unexplained = append(d.unexplained, "missing "+k)
		}
	}
	for _, k := range d.extra {
		switch {
		case instanceWideRules[strings.SplitN(k, "|", 2)[0]]:
			d.instanceWide = append(d.instanceWide, "extra "+k)
		case truth[k]:
			d.truePlus = append(d.truePlus, k)
		default:
			d.unexplained = append(d.unexplained, "extra "+k)
		}
	}
	return d
}

// requireEquivalentFindings fails on any difference from the single collector that
// docs/scale-out.md does not explain, and logs the explained ones.
func requireEquivalentFindings(t *testing.T, what string, got, single *sinkContents) {
	t.Helper()
	d := compareFindings(truthOf(sharedAttacksWorld(t)), got, single)
	t.Logf("%s vs single collector (%d pairs): instance-wide rules %v; attacks only the scale-out found %v; attacks only the single collector found %v",
		what, len(single.findings), d.instanceWide, d.truePlus, d.truthMinus)
	if len(d.unexplained) > 0 {
		t.Errorf("%s: findings differ from the single collector's: %v", what, d.unexplained)
	}
	if len(d.truthMinus) > 0 {
		t.Errorf("%s: missed ground-truth attacks the single collector found: %v", what, d.truthMinus)
	}
}

func requireNoLoss(t *testing.T, got *sinkContents, want int) {
	t.Helper()
	if got.uniqueEvents() != want {
		t.Errorf("%d distinct audit events at the sinks, want %d", got.uniqueEvents(), want)
	}
}

// Three detectors behind load_balancing (static resolver): the findings equal the single
// collector's, every identity is handled by exactly one detector, nothing is lost or doubled.
func TestScaleOutThreeDetectorsMatchSingleCollector(t *testing.T) {
	requireAuditComponents(t)
	baseline := singleCollectorBaseline(t)
	if len(baseline.findings) < 20 {
		t.Fatalf("the single collector found only %d (rule, entity) pairs on `attacks`: %v", len(baseline.findings), baseline.findingKeys())
	}
	w := sharedAttacksWorld(t)
	feed := newDeliveryFeed(t, w)
	s := startScaleOut(t, feed, 3)
	read := func() *sinkContents { return s.union(t) }
	feedSteps(t, feed, w.End, read)
	want := feed.deliverAll(t)
	_, complete := waitForAllRecords(t, want, read)
	got := s.union(t)

	requireNoLoss(t, got, want)
	if got.duplicates() != 0 {
		t.Errorf("%d audit records arrived twice without any fault", got.duplicates())
	}
	t.Logf("ground-truth attacks missed: single collector %v, three detectors %v",
		missedExpectations(sharedAttacksWorld(t), baseline), missedExpectations(sharedAttacksWorld(t), got))
	requireEquivalentFindings(t, "three detectors", got, baseline)
	owned := s.checkOwnership(t)
	for i, ids := range owned {
		if len(ids) == 0 {
			t.Errorf("detector-%d received no identity: the ring does not spread %d identities", i, len(baseline.identities))
		}
	}
	t.Logf("%d audit events, %d (rule, entity) pairs; single collector %.1fs, three detectors %.1fs (from agent start)",
		want, len(got.findings), attacksFixture.elapsed.Seconds(), complete.Sub(s.begin).Seconds())
}

// A detector stops mid-run and comes back (a rolling restart) while the agent keeps reading:
// its share waits in the agent's per-detector retries, no audit event is lost or duplicated,
// and with its state in file_storage the findings equal the single collector's.
//
// While the detector is down the running detectors may receive nothing either: load_balancing
// sends a batch's shares one detector after the other and the agent's queue has one consumer
// (docs/scale-out.md, "Failure behaviour"). After the detector is back, the agent reconnects
// only when gRPC's connection backoff next expires (up to 120s). Both used to make this test
// stall (issue 10); it now waits for what the design promises, with the shipped retry settings.
func TestScaleOutDetectorRestartMidRun(t *testing.T) {
	requireAuditComponents(t)
	baseline := singleCollectorBaseline(t)
	w := sharedAttacksWorld(t)
	feed := newDeliveryFeed(t, w)
	s := startScaleOut(t, feed, 3)
	read := func() *sinkContents { return s.union(t) }
	feedSteps(t, feed, w.Start.Add(9*24*time.Hour), read)

	leaving := s.detectors[1]
	leaving.stop(t)
	down := time.Now()
	delivered := feed.deliverUntil(t, w.Start.Add(12*24*time.Hour))
	// The new days must be in the agent's hands (its persistent queue) while the detector is
	// down, so that its share really goes through the retries.
	waitFor(t, 150*time.Second, "the agent reads what was delivered while a detector is down", func() error {
		n, err := s.agent.acceptedRecords(t)
		if err != nil {
			return err
		}
		if n < delivered {
			return fmt.Errorf("%d of %d records accepted by the agent's receiver", n, delivered)
		}
		return nil
	})
	// The outage lasts as long as a pod restart, long enough for gRPC's connection backoff to
	// grow (the reconnect then comes up to ~20s after the detector is back): that delay is what
	// stalled this test before (issue 10). A scenario length, not a synchronisation.
	time.Sleep(30 * time.Second)
	leaving.start(t)
	up := time.Now()
	// Generous: the agent's connection to the restarted detector waits for gRPC's reconnect
	// backoff (about 0.6x the outage, at most 144s with jitter); SCALEOUT_BACKEND_RETRY (5m)
	// outlasts it.
	waitFor(t, 5*time.Minute, "the events delivered during the outage at the sinks", func() error {
		if got := read().uniqueEvents(); got < delivered {
			return fmt.Errorf("%d of %d", got, delivered)
		}
		return nil
	})
	t.Logf("FIGURE restart: detector down %.1fs; %d events delivered by then at the sinks %.1fs after it was back",
		up.Sub(down).Seconds(), delivered, time.Since(up).Seconds())
	feedSteps(t, feed, w.End, read)
	want := feed.deliverAll(t)
	got, _ := waitForAllRecords(t, want, read)

	requireNoLoss(t, got, want)
	t.Logf("restart: %d events, %d duplicates at the sinks", want, got.duplicates())
	if got.duplicates() != 0 {
		t.Errorf("%d audit records arrived twice: a detector restart shorter than SCALEOUT_BACKEND_RETRY must cause none", got.duplicates())
	}
	requireEquivalentFindings(t, "detector restarted mid-run", got, baseline)
	s.checkOwnership(t)
}

// A detector leaves for good after 12 of the 15 days: the agent is restarted with the two
// remaining detectors. Nothing is lost, and with the detectors sharing a handoff directory the
// moved identities' state follows them: no identity's findings change (docs/state-handoff.md).
func TestScaleOutDetectorLeaves(t *testing.T) {
	requireAuditComponents(t)
	baseline := singleCollectorBaseline(t)
	w := sharedAttacksWorld(t)
	feed := newDeliveryFeed(t, w)
	leaveAt := 12 * 24 * time.Hour
	if v := os.Getenv("SCALEOUT_LEAVE_AFTER_HOURS"); v != "" {
		h, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		leaveAt = time.Duration(h) * time.Hour
	}
	// The detectors share a handoff directory (docs/state-handoff.md): the leaving detector
	// writes its identities' state on shutdown and their new owners read it on first sight.
	s := startScaleOut(t, feed, 3, "SCALEOUT_HANDOFF_DIR="+t.TempDir())
	read := func() *sinkContents { return s.union(t) }
	feedSteps(t, feed, w.Start.Add(leaveAt), read)
	owned := s.checkOwnership(t)
	moved := owned[2]

	s.agent.proc.stop(t, 30*time.Second)
	s.detectors[2].stop(t)
	remaining := s.detectors[:2]
	s.agent.start(t, remaining, s.spray)
	feedSteps(t, feed, w.End, read)
	want := feed.deliverAll(t)
	got, _ := waitForAllRecords(t, want, read)

	requireNoLoss(t, got, want)
	d := compareFindings(truthOf(w), got, baseline)
	var movedDiff, other []string
	for _, k := range d.unexplained {
		if moved[strings.SplitN(strings.SplitN(k, " ", 2)[1], "|", 2)[1]] {
			movedDiff = append(movedDiff, k)
		} else {
			other = append(other, k)
		}
	}
	t.Logf("detector-2 left after %v: %d of %d identities moved; differences of moved identities %v; instance-wide rules %v; attacks only the scale-out found %v; duplicates %d",
		leaveAt, len(moved), len(baseline.identities), movedDiff, d.instanceWide, d.truePlus, got.duplicates())
	t.Logf("ground-truth attacks missed: single collector %v, after the rebalance %v",
		missedExpectations(w, baseline), missedExpectations(w, got))
	if len(other) > 0 {
		t.Errorf("findings of identities that did not move changed: %v", other)
	}
	// With the handoff the moved identities keep their baselines, windows and last-seen times.
	if len(movedDiff) > 0 {
		t.Errorf("with state handoff, findings of moved identities changed: %v", movedDiff)
	}
}
