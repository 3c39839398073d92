// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import "sync"

// sharedReceivers maps a configuration to its running receiver so that the metrics and logs
// pipelines of one instance share it (the pattern of contrib's internal sharedcomponent).
type sharedReceivers struct {
	mu   sync.Mutex
	byID map[*Config]*databricksReceiver
}

func (s *sharedReceivers) getOrCreate(cfg *Config, opts factoryOptions) *databricksReceiver {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.byID[cfg]; ok {
		return r
	}
	r := &databricksReceiver{cfg: cfg, opts: opts}
	r.release = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.byID[cfg] == r {
			delete(s.byID, cfg)
		}
	}
	s.byID[cfg] = r
	return r
}
