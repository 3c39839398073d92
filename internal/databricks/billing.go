package databricks

import (
	"time"
)

// BillingUsageRow is one record of system.billing.usage (reference §4.6) with the columns
// the databricks.billing.usage metric needs. Corrections arrive as RETRACTION records with
// negative quantities, so UsageQuantity may be negative.
type BillingUsageRow struct {
	RecordID, AccountID, WorkspaceID, SKUName, Cloud, UsageUnit, RecordType, BillingOriginProduct string
	UsageStartTime, UsageEndTime                                                                  time.Time
	UsageDate                                                                                     string
	UsageQuantity                                                                                 float64
	CustomTags                                                                                    map[string]string
	// UsageMetadata holds the non-NULL fields of the usage_metadata struct (cluster_id,
	// warehouse_id, job_id, job_run_id, ...), rendered as strings.
	UsageMetadata map[string]string
}

func decodeBillingUsageRow(index map[string]int, row []*string) (BillingUsageRow, error) {
	v := rowView{index: index, row: row}
	var r BillingUsageRow
	var err error
	if r.RecordID, err = v.required("record_id"); err != nil {
		return BillingUsageRow{}, err
	}
	if r.UsageStartTime, err = v.requiredTime("usage_start_time"); err != nil {
		return BillingUsageRow{}, err
	}
	if r.UsageEndTime, err = v.requiredTime("usage_end_time"); err != nil {
		return BillingUsageRow{}, err
	}
	quantity, err := v.required("usage_quantity")
	if err != nil {
		return BillingUsageRow{}, err
	}
	if r.UsageQuantity, err = parseFiniteFloat(quantity); err != nil {
		return BillingUsageRow{}, errColumn("usage_quantity", err)
	}
	r.AccountID = v.str("account_id")
	r.WorkspaceID = v.str("workspace_id")
	r.SKUName = v.str("sku_name")
	r.Cloud = v.str("cloud")
	r.UsageUnit = v.str("usage_unit")
	r.RecordType = v.str("record_type")
	r.BillingOriginProduct = v.str("billing_origin_product")
	r.UsageDate = v.str("usage_date")
	tags, err := v.object("custom_tags")
	if err != nil {
		return BillingUsageRow{}, err
	}
	r.CustomTags = stringMap(tags)
	metadata, err := v.object("usage_metadata")
	if err != nil {
		return BillingUsageRow{}, err
	}
	r.UsageMetadata = stringMap(metadata)
	return r, nil
}
