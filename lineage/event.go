package lineage

// The OpenLineage 2-0-2 RunEvent, with the facets this package sends, as
// structs so that every event encodes its members in one fixed order.

const (
	specURL     = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
	facetPrefix = "https://openlineage.io/spec/facets/"
	// customFacetURL is the schema of the facets OpenLineage does not define.
	customFacetURL = "https://github.com/boltfetch/boltfetch/blob/main/README.md#openlineage"
)

// Facet schema URLs of the facets sent, as the spec's facet files name them.
const (
	parentFacetURL    = facetPrefix + "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
	errorFacetURL     = facetPrefix + "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	engineFacetURL    = facetPrefix + "1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet"
	jobTypeFacetURL   = facetPrefix + "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	sqlFacetURL       = facetPrefix + "1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet"
	assertionFacetURL = facetPrefix + "1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet"
)

// Event is one OpenLineage RunEvent.
type Event struct {
	EventTime string    `json:"eventTime"`
	EventType string    `json:"eventType"`
	Producer  string    `json:"producer"`
	SchemaURL string    `json:"schemaURL"`
	Run       EventRun  `json:"run"`
	Job       EventJob  `json:"job"`
	Inputs    []Dataset `json:"inputs"`
	Outputs   []Dataset `json:"outputs"`
}

// EventRun is the event's run.
type EventRun struct {
	RunID  string     `json:"runId"`
	Facets *RunFacets `json:"facets,omitempty"`
}

// EventJob is the event's job.
type EventJob struct {
	Namespace string     `json:"namespace"`
	Name      string     `json:"name"`
	Facets    *JobFacets `json:"facets,omitempty"`
}

// RunFacets are the run facets sent.
type RunFacets struct {
	Parent           *ParentFacet           `json:"parent,omitempty"`
	ErrorMessage     *ErrorMessageFacet     `json:"errorMessage,omitempty"`
	ProcessingEngine *ProcessingEngineFacet `json:"processing_engine,omitempty"`
	BoltRun          *BoltRunFacet          `json:"boltRun,omitempty"`
	DbtNode          *DbtNodeFacet          `json:"dbtNode,omitempty"`
}

// JobFacets are the job facets sent.
type JobFacets struct {
	JobType *JobTypeFacet `json:"jobType,omitempty"`
	SQL     *SQLFacet     `json:"sql,omitempty"`
	Command *CommandFacet `json:"command,omitempty"`
}

// BaseFacet is what every facet carries.
type BaseFacet struct {
	Producer  string `json:"_producer"`
	SchemaURL string `json:"_schemaURL"`
}

// ParentFacet points to the parent run, and to the root run.
type ParentFacet struct {
	BaseFacet
	Run  ParentRun  `json:"run"`
	Job  ParentJob  `json:"job"`
	Root *ParentRef `json:"root,omitempty"`
}

// ParentRun is a run reference.
type ParentRun struct {
	RunID string `json:"runId"`
}

// ParentJob is a job reference.
type ParentJob struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// ParentRef is the root run and job.
type ParentRef struct {
	Run ParentRun `json:"run"`
	Job ParentJob `json:"job"`
}

// ErrorMessageFacet says why a run failed or was aborted.
type ErrorMessageFacet struct {
	BaseFacet
	Message             string `json:"message"`
	ProgrammingLanguage string `json:"programmingLanguage"`
}

// ProcessingEngineFacet names dbt and its version.
type ProcessingEngineFacet struct {
	BaseFacet
	Version                   string `json:"version"`
	Name                      string `json:"name"`
	OpenlineageAdapterVersion string `json:"openlineageAdapterVersion,omitempty"`
}

// JobTypeFacet classifies the job.
type JobTypeFacet struct {
	BaseFacet
	ProcessingType string `json:"processingType"`
	Integration    string `json:"integration"`
	JobType        string `json:"jobType,omitempty"`
}

// SQLFacet is a node's compiled SQL.
type SQLFacet struct {
	BaseFacet
	Query   string `json:"query"`
	Dialect string `json:"dialect,omitempty"`
}

// CommandFacet is a Bolt command's text (a boltfetch facet).
type CommandFacet struct {
	BaseFacet
	Command    string `json:"command"`
	CommandID  string `json:"commandId"`
	ReturnCode *int   `json:"returnCode,omitempty"`
}

// BoltRunFacet identifies the Bolt run (a boltfetch facet).
type BoltRunFacet struct {
	BaseFacet
	RunID     string `json:"runId"`
	Workspace string `json:"workspace,omitempty"`
	Status    string `json:"status,omitempty"`
	URL       string `json:"url,omitempty"`
}

// DbtNodeFacet is what dbt said of the node (a boltfetch facet): its
// unique_id, status verbatim and, for skipped nodes, the failures that
// caused the skip.
type DbtNodeFacet struct {
	BaseFacet
	UniqueID      string   `json:"uniqueId"`
	Status        string   `json:"status"`
	InvocationID  string   `json:"invocationId,omitempty"`
	ExecutionTime float64  `json:"executionTime"`
	Failures      *int64   `json:"failures,omitempty"`
	CausedBy      []string `json:"causedBy,omitempty"`
}

// Dataset is an input or output dataset.
type Dataset struct {
	Namespace   string              `json:"namespace"`
	Name        string              `json:"name"`
	InputFacets *InputDatasetFacets `json:"inputFacets,omitempty"`
}

// InputDatasetFacets are the input facets sent: the tests' assertions.
type InputDatasetFacets struct {
	DataQualityAssertions *AssertionsFacet `json:"dataQualityAssertions,omitempty"`
}

// AssertionsFacet lists tests run on a dataset.
type AssertionsFacet struct {
	BaseFacet
	Assertions []Assertion `json:"assertions"`
}

// Assertion is one test's outcome.
type Assertion struct {
	Assertion string `json:"assertion"`
	Success   bool   `json:"success"`
	Column    string `json:"column,omitempty"`
	Severity  string `json:"severity,omitempty"`
	Name      string `json:"name,omitempty"`
}
