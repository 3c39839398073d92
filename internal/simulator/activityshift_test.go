package simulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBusyShift(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	for _, c := range []struct {
		now  string
		want time.Duration
	}{
		{"2026-11-27T15:00:00Z", 0},                            // Friday afternoon: already busy
		{"2026-11-27T03:09:00Z", 11*time.Hour + 9*time.Minute}, // Friday night: Thursday 16:00
		{"2026-11-27T22:30:00Z", 6*time.Hour + 30*time.Minute}, // Friday late: Friday 16:00
		{"2026-11-28T12:00:00Z", 20 * time.Hour},               // Saturday: Friday 16:00
		{"2026-11-30T05:00:00Z", 61 * time.Hour},               // Monday early: Friday 16:00
		{"2026-11-30T10:00:00Z", 66 * time.Hour},               // Monday morning: Friday 16:00
		{"2026-12-01T08:00:00Z", 16 * time.Hour},               // Tuesday morning: Monday 16:00
	} {
		require.Equal(t, c.want, BusyShift(at(c.now)), c.now)
	}
}

// A live timeline at a quiet hour is nearly silent; with the busy shift its users behave as on
// a weekday afternoon, and their events are exactly those of the unshifted timeline that
// much earlier, moved forward by the shift.
func TestActivityShiftMovesUserSessions(t *testing.T) {
	saturdayNight, err := time.Parse(time.RFC3339, "2026-11-28T03:00:00Z")
	require.NoError(t, err)
	shift := BusyShift(saturdayNight)
	build := func(start time.Time, shift time.Duration) *World {
		sc := DefaultScenario()
		sc.Users, sc.ServicePrincipals, sc.Rate, sc.Attacks = 40, 0, 30, nil
		sc.ActivityShift = Duration(shift)
		w, err := Build(sc, Options{Start: start.Format(time.RFC3339), Duration: 10 * time.Minute, Now: start})
		require.NoError(t, err)
		return w
	}
	userEvents := func(w *World) map[string]time.Time {
		users := map[string]bool{}
		for _, u := range w.Population.Users {
			users[u.Email] = true
		}
		out := map[string]time.Time{}
		for _, e := range w.Events {
			if users[e.Email] {
				out[e.EventID] = e.Time
			}
		}
		return out
	}

	quiet := userEvents(build(saturdayNight, 0))
	shifted := build(saturdayNight, shift)
	busy := userEvents(shifted)
	reference := userEvents(build(saturdayNight.Add(-shift), 0))
	require.Less(t, len(quiet), 100, "a Saturday night should be nearly silent")
	require.Greater(t, len(busy), 10_000, "30 events/s over 10 minutes on a weekday afternoon")
	require.Equal(t, len(reference), len(busy))
	for id, at := range reference {
		require.Equal(t, at.Add(shift), busy[id], "event %s", id)
	}
	for _, e := range shifted.Events {
		require.False(t, e.Time.Before(shifted.Start) || !e.Time.Before(shifted.End), "event at %s outside the timeline", e.Time)
	}
}
