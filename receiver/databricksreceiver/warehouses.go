// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"

	"github.com/databricks/databricks-sdk-go/service/sql"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

var warehouseStates = []struct {
	state sql.State
	attr  metadata.AttributeDatabricksWarehouseState
}{
	{sql.StateStarting, metadata.AttributeDatabricksWarehouseStateSTARTING},
	{sql.StateRunning, metadata.AttributeDatabricksWarehouseStateRUNNING},
	{sql.StateStopping, metadata.AttributeDatabricksWarehouseStateSTOPPING},
	{sql.StateStopped, metadata.AttributeDatabricksWarehouseStateSTOPPED},
	{sql.StateDeleting, metadata.AttributeDatabricksWarehouseStateDELETING},
	{sql.StateDeleted, metadata.AttributeDatabricksWarehouseStateDELETED},
}

// scrapeWarehouses records state (0/1 per state) and running clusters per SQL warehouse.
// API calls: one paged list.
func (s *dbxScraper) scrapeWarehouses(ctx context.Context, now pcommon.Timestamp) {
	list, err := s.api.ListWarehouses(ctx)
	if err != nil {
		s.failures.failed(ctx, sourceWarehouses, err)
		return
	}
	s.failures.succeeded(sourceWarehouses)
	for i := range list {
		w := &list[i]
		for _, st := range warehouseStates {
			v := int64(0)
			if w.State == st.state {
				v = 1
			}
			s.mb.RecordDatabricksWarehouseStateDataPoint(now, v, st.attr)
		}
		s.mb.RecordDatabricksWarehouseClustersDataPoint(now, int64(w.NumClusters))
		rb := s.resourceBuilder()
		rb.SetDatabricksWarehouseID(w.Id)
		rb.SetDatabricksWarehouseName(w.Name)
		rb.SetDatabricksWarehouseSize(w.ClusterSize)
		s.mb.EmitForResource(metadata.WithResource(rb.Emit()))
	}
}
