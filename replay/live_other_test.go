//go:build !linux

package replay

import "testing"

// liveBenchSink: no live interfaces off Linux; the pacing benchmark uses a null sink.
func liveBenchSink(b *testing.B) (*LiveSink, bool) { return nil, false }

func TestOpenLiveUnsupported(t *testing.T) {
	if _, err := OpenLive("eth0"); err == nil {
		t.Error("OpenLive succeeded off Linux")
	}
}
