package ui

import "github.com/rivo/tview"

// view is one screen of the app, switched by number keys and Tab.
type view interface {
	// title is the view's tab name.
	title() string
	// primitive is the view's root widget.
	primitive() tview.Primitive
	// panes are the widgets that take focus, in the order 'w' cycles through; the first gets
	// focus when the view is shown.
	panes() []tview.Primitive
	// keys are the view's own bindings, consulted before the app's.
	keys() []binding
	// refresh renders the model's current state; c says what changed. It runs on the UI
	// goroutine.
	refresh(m *Model, c Change)
}

// Positions of the views in the registry, for jumps between them.
const (
	viewPaths = iota
	viewFlows
	viewPackets
	viewBGP
	viewTopology
	viewFindings
)

// registerViews builds the views in tab order (the number key of each is its position + 1).
// It is the one place views are registered; the constants above follow its order.
func registerViews(a *App) []view {
	return []view{
		viewPaths:    newPathsView(a),
		viewFlows:    newFlowsView(a),
		viewPackets:  newPacketsView(a),
		viewBGP:      newBGPView(a),
		viewTopology: newTopologyView(a),
		viewFindings: newFindingsView(a),
	}
}
