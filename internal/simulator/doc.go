// Package simulator is a deterministic Databricks workspace simulator.
//
// It generates a workspace's audit events (normal behaviour plus injected attacks with their
// ground truth), its clusters, jobs, warehouses, identities and system-table rows, and serves them
// over the REST, SCIM, OAuth and SQL Statement Execution APIs with the shapes that
// databricks-sdk-go expects. It also writes audit-log delivery files and Azure diagnostic records.
//
// Everything generated is a pure function of the scenario and its seed: the wall clock only
// decides which part of the generated timeline is visible ("live" mode), never what it contains.
package simulator
