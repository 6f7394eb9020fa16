// Evalnll scores stored model predictions: negative log-likelihood in log
// space, calibration, accuracy and Brier score, over Parquet and Arrow IPC
// files, exactly and byte-identically from run to run.
//
// Usage:
//
//	evalnll eval    [flags] INPUT...      evaluate prediction tables, write reports
//	evalnll compare BASE.json NEW.json    diff two JSON reports (regression gate)
//	evalnll merge   [flags] STATE...      merge the states of eval --shard runs into reports
//	evalnll inspect INPUT...              show schema, row groups, detected mapping
//
// Evaluate a binary classifier's probabilities and print a summary:
//
//	$ evalnll eval --label y --prob p testdata/samples/breast_cancer_lr.parquet
//
// Multiclass probabilities in a list column, NLL in bits, a JSON report:
//
//	$ evalnll eval --label y --prob probs --base 2 --json /tmp/evalnll-doc-digits.json testdata/samples/digits_lr.parquet
//
// The mapping is found by column names when no flag gives it:
//
//	$ evalnll inspect testdata/samples/iris.arrow
//
// A CI gate: exit 1 when the expected calibration error reaches 0.5:
//
//	$ evalnll eval --label y --prob probs --fail-if 'ece >= 0.5' --md /tmp/evalnll-doc-iris.md testdata/samples/iris.arrow
//
// Compare two reports:
//
//	$ evalnll compare /tmp/evalnll-doc-digits.json /tmp/evalnll-doc-digits.json
//
// Scale out: evaluate share i of N on machine i, then merge the states into
// the report one eval would have written:
//
//	$ evalnll eval --label y --prob p --shard 0/2 --state /tmp/evalnll-doc-0.evst testdata/samples/breast_cancer_lr.parquet
//	$ evalnll eval --label y --prob p --shard 1/2 --state /tmp/evalnll-doc-1.evst testdata/samples/breast_cancer_lr.parquet
//	$ evalnll merge /tmp/evalnll-doc-1.evst /tmp/evalnll-doc-0.evst
//
// Exit status: 0 when every gate passed, 1 when a gate failed (the report is
// still written), 2 for a usage or input error (one line on stderr naming the
// file, row and column; no report is written), 130 when interrupted.
//
// See README.md for the definitions of every figure and the edge rules.
package main
