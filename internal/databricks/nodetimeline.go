package databricks

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// NodeTimelineRow is one node-minute of system.compute.node_timeline (reference §4.3)
// with the columns the databricks receiver turns into databricks.node.* metrics. Measures
// are pointers because the table leaves them NULL when a node did not report.
type NodeTimelineRow struct {
	AccountID, WorkspaceID, ClusterID, InstanceID, NodeType string
	StartTime, EndTime                                      time.Time
	Driver                                                  bool
	CPUUserPercent, CPUSystemPercent, CPUWaitPercent        *float64
	MemUsedPercent, MemSwapPercent                          *float64
	NetworkSentBytes, NetworkReceivedBytes                  *int64
	// DiskFreeBytesPerMountPoint maps a mount point to its free bytes.
	DiskFreeBytesPerMountPoint map[string]int64
}

func decodeNodeTimelineRow(index map[string]int, row []*string) (NodeTimelineRow, error) {
	v := rowView{index: index, row: row}
	var r NodeTimelineRow
	var err error
	if r.ClusterID, err = v.required("cluster_id"); err != nil {
		return NodeTimelineRow{}, err
	}
	if r.InstanceID, err = v.required("instance_id"); err != nil {
		return NodeTimelineRow{}, err
	}
	if r.StartTime, err = v.requiredTime("start_time"); err != nil {
		return NodeTimelineRow{}, err
	}
	if r.EndTime, err = v.requiredTime("end_time"); err != nil {
		return NodeTimelineRow{}, err
	}
	r.AccountID = v.str("account_id")
	r.WorkspaceID = v.str("workspace_id")
	r.NodeType = v.str("node_type")
	if r.Driver, err = v.optionalBool("driver"); err != nil {
		return NodeTimelineRow{}, err
	}
	floats := []struct {
		col string
		dst **float64
	}{
		{"cpu_user_percent", &r.CPUUserPercent},
		{"cpu_system_percent", &r.CPUSystemPercent},
		{"cpu_wait_percent", &r.CPUWaitPercent},
		{"mem_used_percent", &r.MemUsedPercent},
		{"mem_swap_percent", &r.MemSwapPercent},
	}
	for _, f := range floats {
		if *f.dst, err = v.optionalFloat(f.col); err != nil {
			return NodeTimelineRow{}, err
		}
	}
	if r.NetworkSentBytes, err = v.optionalInt("network_sent_bytes"); err != nil {
		return NodeTimelineRow{}, err
	}
	if r.NetworkReceivedBytes, err = v.optionalInt("network_received_bytes"); err != nil {
		return NodeTimelineRow{}, err
	}
	disks, err := v.object("disk_free_bytes_per_mount_point")
	if err != nil {
		return NodeTimelineRow{}, err
	}
	if r.DiskFreeBytesPerMountPoint, err = int64Map(disks); err != nil {
		return NodeTimelineRow{}, fmt.Errorf("column disk_free_bytes_per_mount_point: %w", err)
	}
	return r, nil
}

// int64Map reads a MAP<STRING,BIGINT>; values may arrive as numbers or numeric strings.
func int64Map(obj map[string]any) (map[string]int64, error) {
	if obj == nil {
		return nil, nil
	}
	out := make(map[string]int64, len(obj))
	for k, v := range obj {
		switch t := v.(type) {
		case nil:
			continue
		case int64:
			out[k] = t
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("value of %q is not an integer: %q", truncate(k), truncate(t))
			}
			out[k] = n
		default:
			return nil, fmt.Errorf("value of %q is not an integer: %v", truncate(k), t)
		}
	}
	return out, nil
}
