// Package databricks is the one Databricks client both receivers use: REST listings
// (clusters, cluster events, jobs, runs, SQL warehouses, SCIM principals) paged to the end,
// SQL Statement Execution with chunk streaming and cancellation, and typed readers for the
// system tables system.access.audit, system.compute.node_timeline and system.billing.usage.
//
// It is built on databricks-sdk-go for configuration and unified authentication, and adds
// what the SDK lacks for a long-running collector: Retry-After, exponential backoff with
// jitter under a bounded retry budget, a fractional client-side rate limit over every
// attempt, and traffic counters (Stats) for self-telemetry. See README.md.
package databricks
