//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor"
)

// builtinRules is the access_anomaly processor's built-in pack, read as data: the threshold
// rule's filter and limit come from there, not from a copy in this test.
const builtinRules = "../../processor/accessanomalyprocessor/internal/rules/builtin.yaml"

// isMatchOnAction is the form of a `where` this tool can evaluate without the processor:
// IsMatch(log.attributes["databricks.action_name"], "<regular expression>").
var isMatchOnAction = regexp.MustCompile(`^IsMatch\(log\.attributes\["databricks\.action_name"\], "(.*)"\)$`)

// TestSoakThresholdCrossings tells how long the soak's load takes to fill the state of a
// 24-hour count threshold rule (DBX-W08 by default): each identity that crosses the threshold
// opens a suppression window for a day, and each within max_event_ids of it keeps an event-id
// ring, so the processor's memory grows while identities cross. It counts the rule's matching
// events per identity in an hour of the soak's load (its first pool and variants, as TestSoak
// feeds them), takes each identity's hourly rate, and prints how many identities have crossed
// (count >= gte) and hold a ring (count > gte - 10) after a given event time, and how many more
// do in the hour after it. The soak's backfill must reach past the hours where that still moves
// (soakBackfill). RELIABILITY_SOAK_CROSSINGS=1 runs it (about 3 minutes on one core);
// RELIABILITY_SOAK_CROSSINGS_RULE picks another rule of that form.
func TestSoakThresholdCrossings(t *testing.T) {
	if os.Getenv("RELIABILITY_SOAK_CROSSINGS") == "" {
		t.Skip("set RELIABILITY_SOAK_CROSSINGS=1 to count the soak load's threshold crossings")
	}
	id := os.Getenv("RELIABILITY_SOAK_CROSSINGS_RULE")
	if id == "" {
		id = "DBX-W08"
	}
	match, limit, window, dropSystem := countThresholdRule(t, id)
	const passes = 30 // an hour of the load: each pass is its two minutes
	// Rings are kept within max_event_ids of the threshold; the soak runs the default.
	ringFrom := float64(accessanomalyprocessor.NewFactory().CreateDefaultConfig().(*accessanomalyprocessor.Config).MaxEventIDs)

	pv := newPoolVariants(t, soakRate(t), time.Now())
	perIdentity := map[string]float64{}
	for n := 0; n < passes; n++ {
		events := pv.first.Events
		if n > 0 {
			var err error
			events, err = pv.variant(n)
			mustf(t, err, "variant %d", n)
		}
		for i := range events {
			if dropSystem && defaultSystemIdentities[events[i].Email] {
				continue
			}
			if match.MatchString(events[i].ActionName) {
				perIdentity[events[i].Email]++
			}
		}
	}
	hours := float64(passes) * 2 / 60
	var crossAt, ringAt []float64
	for _, n := range perIdentity {
		rate := n / hours
		if h := limit / rate; h <= window.Hours() {
			crossAt = append(crossAt, h)
		}
		if h := (limit - ringFrom + 1) / rate; h <= window.Hours() {
			ringAt = append(ringAt, h)
		}
	}
	sort.Float64s(crossAt)
	sort.Float64s(ringAt)
	t.Logf("%s (>= %v in %v): %d identities with matching events in %d passes; %d cross within the window, %d keep a ring",
		id, limit, window, len(perIdentity), passes, len(crossAt), len(ringAt))
	for _, h := range []float64{2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 20, 24} {
		crossed, rings := sort.SearchFloat64s(crossAt, h), sort.SearchFloat64s(ringAt, h)
		t.Logf("after %4.0f h: %5d crossed, %5d rings; the next hour adds %4d windows and %4d rings", h, crossed, rings,
			sort.SearchFloat64s(crossAt, h+1)-crossed, sort.SearchFloat64s(ringAt, h+1)-rings)
	}
}

// defaultSystemIdentities is lists.system_identities of the processor's defaults, the
// identities its system_user noise filter drops (internal/lists, not importable from here).
var defaultSystemIdentities = map[string]bool{"System-User": true, "unknown": true}

// countThresholdRule reads a count threshold rule of the built-in pack whose `where` matches
// the action name, and returns that expression, its `gte`, its window and whether its noise
// filters drop system identities.
func countThresholdRule(t *testing.T, id string) (*regexp.Regexp, float64, time.Duration, bool) {
	t.Helper()
	raw, err := os.ReadFile(builtinRules)
	mustf(t, err, "read the built-in pack")
	var pack []map[string]any
	mustf(t, yaml.Unmarshal(raw, &pack), "parse the built-in pack")
	for _, r := range pack {
		if r["id"] != id {
			continue
		}
		m := isMatchOnAction.FindStringSubmatch(fmt.Sprint(r["where"]))
		if r["type"] != "threshold" || r["aggregate"] != "count" || m == nil {
			t.Fatalf("%s is not a count threshold on the action name: type %v, aggregate %v, where %v", id, r["type"], r["aggregate"], r["where"])
		}
		re, err := regexp.Compile(m[1])
		mustf(t, err, "%s: where", id)
		limit, err := strconv.ParseFloat(fmt.Sprint(r["gte"]), 64)
		mustf(t, err, "%s: gte", id)
		window, err := time.ParseDuration(fmt.Sprint(r["window"]))
		mustf(t, err, "%s: window", id)
		filters, _ := r["noise_filters"].([]any)
		dropSystem := false
		for _, f := range filters {
			dropSystem = dropSystem || f == "system_user"
		}
		return re, limit, window, dropSystem
	}
	t.Fatalf("no rule %s in the built-in pack", id)
	return nil, 0, 0, false
}
