//go:build bench

package main

import (
	"context"
	"net"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
)

// findingEventName marks the access_anomaly processor's finding records (DESIGN §3.3).
const findingEventName = "databricks.access_anomaly"

// otlpSink is the smallest OTLP/gRPC logs server: it counts what it receives and drops it.
type otlpSink struct {
	plogotlp.UnimplementedGRPCServer
	server   *grpc.Server
	addr     string
	records  atomic.Int64
	findings atomic.Int64
}

func startSink() (*otlpSink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &otlpSink{server: grpc.NewServer(), addr: l.Addr().String()}
	plogotlp.RegisterGRPCServer(s.server, s)
	go func() { _ = s.server.Serve(l) }()
	return s, nil
}

func (s *otlpSink) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	rls := req.Logs().ResourceLogs()
	var records, findings int64
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			records += int64(lrs.Len())
			for k := 0; k < lrs.Len(); k++ {
				if lrs.At(k).EventName() == findingEventName {
					findings++
				}
			}
		}
	}
	s.records.Add(records)
	s.findings.Add(findings)
	return plogotlp.NewExportResponse(), nil
}

func (s *otlpSink) stop() { s.server.Stop() }
