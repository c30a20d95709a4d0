// Package ui owns the interactive terminal user interface (`stackflow ui`): a tview/tcell
// application whose views present one flows.Report (paths, flows, packets, BGP, topology,
// findings) and, on demand, the packets of a selected path, flow or finding, re-read from the
// capture files. It never recomputes analysis: everything it shows comes from the Report,
// except packet lists and packet details, which come from the inputs through
// flows.PlanExport and gopacket.
//
// Data flows one way (STYLE.md practice 11): the Model holds the state and notifies listeners
// after each change; the App's listener schedules a redraw with QueueUpdateDraw; each view then
// renders the Model's current state into its widgets. Rows are produced by pure renderer
// functions (tested on fixture reports), key bindings are data (the help screen is generated
// from them), and the views are registered in one place (views.go).
package ui
