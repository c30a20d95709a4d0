package synth

import (
	"os"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

// bulkScenario is the reference topology with heavy traffic: many TCP downloads and uploads,
// every packet crossing four or five capture points.
func bulkScenario(t testing.TB) string {
	t.Helper()
	src, err := os.ReadFile(testenv.Sample(t, "azurestack-poc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	i := strings.Index(doc, "\ntraffic:")
	return doc[:i] + `
traffic:
  - {name: bulk-down, client: ClientVM, to: "192.168.102.4:443", proto: tcp, app: raw, request: 200, response: 2MB, count: 40, start: 1s, interval: 250ms}
  - {name: bulk-up, client: ClientVM, to: "192.168.102.4:80", proto: tcp, app: raw, request: 1MB, response: 200, count: 20, start: 1s, interval: 500ms}
  - {name: chatty, client: ClientVM, to: "192.168.102.4:5001", proto: udp, request: 100, response: 300, count: 2000, start: 1s, interval: 5ms}
faults: []
`
}

// BenchmarkSynthesize measures generation into a discarding sink; ns/frame is the figure of
// merit (target: <= 1000, i.e. >= 1M frames/s).
func BenchmarkSynthesize(b *testing.B) {
	sc := parseScenario(b, bulkScenario(b))
	for _, journeys := range []bool{false, true} {
		name := "no-journeys"
		if journeys {
			name = "journeys"
		}
		b.Run(name, func(b *testing.B) {
			frames := 0
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				sink := &discardSink{}
				if _, err := Generate(sc, Options{NoJourneys: !journeys}, sink); err != nil {
					b.Fatal(err)
				}
				frames += sink.n
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
			b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
		})
	}
}
