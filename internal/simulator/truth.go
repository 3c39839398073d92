package simulator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// GroundTruth is the file written next to the generated data.
type GroundTruth struct {
	Scenario       string        `json:"scenario"`
	Seed           int64         `json:"seed"`
	Start          time.Time     `json:"start"`
	End            time.Time     `json:"end"`
	WorkspaceID    string        `json:"workspace_id"`
	AllowedCIDRs   []string      `json:"allowed_cidrs"`
	SensitiveTable []string      `json:"sensitive_tables"`
	AdminGroups    []string      `json:"admin_groups"`
	Events         int           `json:"events"`
	Expectations   []Expectation `json:"expectations"`
}

// NewGroundTruth summarises a world's injected attacks and the settings a detector needs to
// score against them.
func NewGroundTruth(w *World) GroundTruth {
	exp := w.Truth
	if exp == nil {
		exp = []Expectation{}
	}
	return GroundTruth{Scenario: w.Scenario.Name, Seed: w.Scenario.Seed, Start: w.Start, End: w.End,
		WorkspaceID: w.Scenario.Workspace.ID, AllowedCIDRs: w.Scenario.Workspace.CorporateCIDRs,
		SensitiveTable: SensitiveTables, AdminGroups: []string{"admins"}, Events: len(w.Events), Expectations: exp}
}

// WriteGroundTruth writes the ground truth as indented JSON.
func WriteGroundTruth(path string, w *World) error {
	b, err := json.MarshalIndent(NewGroundTruth(w), "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
