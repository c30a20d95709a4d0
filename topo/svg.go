package topo

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/goccy/go-graphviz"
)

// renderMu serialises every call into go-graphviz: its one WebAssembly module is shared by all
// instances and corrupts memory when two goroutines use it at once.
var renderMu sync.Mutex

// RenderSVG lays out DOT text with the Graphviz compiled into the binary (go-graphviz: Graphviz
// 12 as WebAssembly, no cgo, no external program) and returns the SVG. Calls are serialised;
// ctx is checked before the layout starts, which cannot be interrupted once it runs. Each render
// grows the process's memory a little (the WebAssembly heap does not shrink): render on demand,
// keep the result.
func RenderSVG(ctx context.Context, dot []byte) (out []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	renderMu.Lock()
	defer renderMu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer func() {
		// A trap inside the WebAssembly module must not take the process down.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("render svg: graphviz failed: %v", r)
		}
	}()
	g, err := graphviz.ParseBytes(dot)
	if err != nil {
		return nil, fmt.Errorf("render svg: parse dot: %w", err)
	}
	defer g.Close()
	gv, err := graphviz.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("render svg: %w", err)
	}
	defer gv.Close()
	var buf bytes.Buffer
	if err := gv.Render(ctx, g, graphviz.SVG, &buf); err != nil {
		return nil, fmt.Errorf("render svg: %w", err)
	}
	if buf.Len() == 0 {
		return nil, fmt.Errorf("render svg: graphviz produced no output")
	}
	// Graphviz names the fallback "sans-Serif"; librsvg (GNOME viewers, rsvg-convert) then picks
	// a wider font than the one Graphviz measured and text spills out of boxes. Naming Arial,
	// Helvetica's metric twin, keeps every renderer on the measured widths.
	return bytes.ReplaceAll(buf.Bytes(), []byte(`font-family="Helvetica,sans-Serif"`), []byte(`font-family="Helvetica,Arial,sans-serif"`)), nil
}
