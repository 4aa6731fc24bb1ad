package lineage

import (
	"strings"

	"github.com/boltfetch/boltfetch/artifacts"
)

// DatasetNamespace is the dataset namespace OpenLineage's naming spec gives
// an adapter type, when no override is configured. The spec puts the
// warehouse's address in it (postgres://host:port, snowflake://account,
// redshift://cluster.region:port, databricks://workspace-host), which
// neither the manifest nor run_results carries, so the address part is
// "unknown" unless Config.DatasetNamespace names it; BigQuery's namespace is
// just "bigquery".
func DatasetNamespace(adapterType string) string {
	a := strings.ToLower(strings.TrimSpace(adapterType))
	switch a {
	case "":
		return "dbt://unknown"
	case "bigquery":
		return "bigquery"
	case "sqlserver", "fabric", "synapse":
		return "sqlserver://unknown"
	}
	return a + "://unknown"
}

// dialect is the SQL dialect of an adapter type, as the sql facet names it.
func dialect(adapterType string) string {
	a := strings.ToLower(strings.TrimSpace(adapterType))
	switch a {
	case "sqlserver", "fabric", "synapse":
		return "tsql"
	}
	return a
}

// datasetName is {database}.{schema}.{identifier}, skipping empty parts
// (Spark has no database), as OpenLineage names tables.
func datasetName(r artifacts.Relation) string {
	return joinNonEmpty(r.Database, r.Schema, r.Identifier)
}

// nodeJobName is {database}.{schema}.{alias} as dbt-ol names a node's job,
// else the node's unique_id when the manifest locates no relation.
func nodeJobName(n *artifacts.ExecutedNode) string {
	if n.Alias == "" || (n.Database == "" && n.Schema == "") {
		return n.UniqueID
	}
	return joinNonEmpty(n.Database, n.Schema, n.Alias)
}

func joinNonEmpty(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// jobType is the jobType facet's word for a dbt resource type.
func jobType(resourceType string) string {
	switch resourceType {
	case "unit_test":
		return "TEST"
	case "operation":
		return "HOOK"
	case "":
		return "NODE"
	}
	return strings.ToUpper(resourceType)
}
