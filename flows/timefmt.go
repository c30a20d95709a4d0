package flows

import "time"

// timeLayout is RFC 3339 with exactly nine fractional digits, always UTC (DESIGN.md 6.1).
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// FormatTime renders a capture timestamp (ns since the Unix epoch) the way the report does.
func FormatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(timeLayout)
}

// ParseTime reads a report timestamp back into ns since the Unix epoch.
func ParseTime(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return t.UnixNano(), nil
}
