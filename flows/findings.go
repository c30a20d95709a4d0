package flows

import "slices"

// severityRank orders findings: errors first.
var severityRank = map[string]int{"error": 0, "warning": 1, "info": 2}

// sortFindings orders findings by severity, then kind, then summary, so output is deterministic.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(x, y Finding) int {
		if d := severityRank[x.Severity] - severityRank[y.Severity]; d != 0 {
			return d
		}
		if x.Kind != y.Kind {
			if x.Kind < y.Kind {
				return -1
			}
			return 1
		}
		if x.Summary < y.Summary {
			return -1
		}
		if x.Summary > y.Summary {
			return 1
		}
		return 0
	})
}
