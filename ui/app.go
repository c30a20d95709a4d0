package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/stackflow/stackflow/flows"
)

// Options configures an App.
type Options struct {
	// Title names the inputs in the context line (e.g. the capture file names).
	Title string
	// Screen is where to draw; nil means the terminal (tests pass a simulation screen).
	Screen tcell.Screen
	// Logger receives what the app does (view switches, filters, packet loads); nil discards.
	Logger *slog.Logger
	// LogPath is where the log goes, shown on the help screen; "" shows nothing.
	LogPath string
	// VXLANPorts are UDP ports decoded as VXLAN in the packet detail pane besides 4789.
	VXLANPorts []uint16
}

// App is the terminal UI over one Model.
type App struct {
	tv    *tview.Application
	model *Model
	opts  Options
	log   *slog.Logger

	views    []view
	cur      int   // index of the view shown
	back     int   // view to return to when the packet view closes
	paneIdx  []int // focused pane per view
	globals  []binding
	root     *tview.Pages
	layout   *tview.Flex
	tabs     *tview.TextView
	context  *tview.TextView
	body     *tview.Pages
	filterIn *tview.InputField
	filterEr *tview.TextView
	footer   *tview.TextView
	help     *tview.TextView
	pal      palette
	screen   tcell.Screen // the terminal's screen, handed to tview when Run starts
	helpOpen bool
	filterOn bool
	status   string
	statusT  tone

	pending atomic.Uint32 // Change bits not yet rendered
	dirty   chan struct{}
	done    chan struct{}
}

// themeOnce sets tview's global theme once: the terminal's own colours (ColorDefault) instead of
// tview's black background, so the UI looks native on light and dark terminals alike.
var themeOnce sync.Once

func setTheme() {
	themeOnce.Do(func() {
		tview.Styles.PrimitiveBackgroundColor = tcell.ColorDefault
		tview.Styles.ContrastBackgroundColor = tcell.ColorDefault
		tview.Styles.MoreContrastBackgroundColor = tcell.ColorDefault
		tview.Styles.BorderColor = tcell.ColorDefault
		tview.Styles.TitleColor = tcell.ColorDefault
		tview.Styles.GraphicsColor = tcell.ColorDefault
		tview.Styles.PrimaryTextColor = tcell.ColorDefault
		tview.Styles.SecondaryTextColor = tcell.ColorDefault
		tview.Styles.TertiaryTextColor = tcell.ColorDefault
		tview.Styles.InverseTextColor = tcell.ColorDefault
		tview.Styles.ContrastSecondaryTextColor = tcell.ColorDefault
	})
}

// New builds the app over m. Call Run to show it. Without Options.Screen it prepares the
// terminal's screen, which fails when there is no usable terminal; the terminal is taken over
// only when Run starts.
func New(m *Model, opts Options) (*App, error) {
	setTheme()
	a := &App{
		tv:    tview.NewApplication(),
		model: m,
		opts:  opts,
		log:   opts.Logger,
		dirty: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if opts.Screen != nil {
		a.tv.SetScreen(opts.Screen)
		a.pal = paletteFor(opts.Screen)
	} else {
		scr, err := tcell.NewScreen()
		if err != nil {
			return nil, fmt.Errorf("no usable terminal: %w", err)
		}
		a.screen = scr
		a.pal = paletteFor(scr)
	}
	a.views = registerViews(a)
	a.paneIdx = make([]int, len(a.views))
	a.globals = a.globalKeys()
	a.build()
	m.Listen(a.changed)
	a.apply(ReportChanged | PacketsChanged)
	a.show(viewPaths)
	return a, nil
}

// globalKeys is the app-wide key table, consulted after the shown view's.
func (a *App) globalKeys() []binding {
	var ks []binding
	for i, v := range a.views {
		ks = append(ks, binding{keys: []keySpec{runeKey(rune('1' + i))}, label: fmt.Sprint(i + 1),
			help: "show the " + v.title() + " view", do: func() bool { a.show(i); return true }})
	}
	return append(ks,
		binding{keys: []keySpec{specialKey(tcell.KeyTab)}, label: "Tab", help: "next view",
			do: func() bool { a.show((a.cur + 1) % len(a.views)); return true }},
		binding{keys: []keySpec{specialKey(tcell.KeyBacktab)}, label: "Shift+Tab", help: "previous view",
			do: func() bool { a.show((a.cur + len(a.views) - 1) % len(a.views)); return true }},
		binding{keys: []keySpec{specialKey(tcell.KeyEscape)}, label: "Esc",
			help: "close a pane or go back (the focus returns to the view's first pane)",
			do:   a.escape},
		binding{keys: []keySpec{runeKey('w')}, label: "w", help: "move the focus to the view's next pane (to scroll it)", hint: "w pane",
			do: a.nextPane},
		binding{keys: []keySpec{runeKey('/')}, label: "/", help: "filter the report (the analyze --filter language; empty clears)", hint: "/ filter",
			do: func() bool { a.openFilter(); return true }},
		binding{keys: []keySpec{runeKey('?')}, label: "?", help: "this help", hint: "? help",
			do: func() bool { a.openHelp(); return true }},
		binding{keys: []keySpec{runeKey('q')}, label: "q", help: "quit (Ctrl+C too)", hint: "q quit",
			do: func() bool { a.tv.Stop(); return true }},
	)
}

// build lays the widgets out: tabs, context line, the views, the filter field, the footer; the
// help screen is a page over all of it.
func (a *App) build() {
	a.tabs = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	a.context = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	a.body = tview.NewPages()
	for i, v := range a.views {
		a.body.AddPage(fmt.Sprint(i), v.primitive(), true, false)
	}
	a.filterEr = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	a.filterIn = tview.NewInputField().SetLabel("filter: ").
		SetLabelStyle(tcell.StyleDefault.Bold(true)).
		SetFieldStyle(tcell.StyleDefault.Underline(true)).
		SetPlaceholder("e.g. host 192.168.102.4 and port 443, role mux, lost, not dsr — Enter applies, Esc cancels").
		SetPlaceholderStyle(tcell.StyleDefault.Dim(true))
	a.filterIn.SetDoneFunc(a.filterDone)
	a.filterIn.SetChangedFunc(func(string) { a.filterEr.SetText("") })
	a.footer = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	a.layout = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(a.tabs, 1, 0, false).
		AddItem(a.context, 1, 0, false).
		AddItem(a.body, 0, 1, true).
		AddItem(a.filterEr, 0, 0, false).
		AddItem(a.filterIn, 0, 0, false).
		AddItem(a.footer, 1, 0, false)
	a.help = tview.NewTextView().SetDynamicColors(false).SetWrap(true).SetScrollable(true)
	a.help.SetBorder(true).SetTitle(" Help — ↑/↓ scroll; Esc, ? or q closes ")
	a.root = tview.NewPages().
		AddPage("main", a.layout, true, true).
		AddPage("help", a.help, true, false)
	a.tv.SetRoot(a.root, true)
	a.tv.SetInputCapture(a.input)
}

// input is the app-level key handler. While the filter field has focus every key goes to it
// (so '/', '?' and 'q' can be typed); the help screen closes on Esc, '?' or 'q'; otherwise the
// shown view's bindings, then the global ones, then the focused widget get the key.
func (a *App) input(ev *tcell.EventKey) *tcell.EventKey {
	if a.filterOn {
		return ev
	}
	if a.helpOpen {
		if ev.Key() == tcell.KeyEscape || (ev.Key() == tcell.KeyRune && (ev.Rune() == '?' || ev.Rune() == 'q')) {
			a.closeHelp()
			return nil
		}
		return ev
	}
	if b := lookup(ev, a.views[a.cur].keys(), a.globals); b != nil {
		a.status = ""
		if b.do() {
			a.drawChrome()
			return nil
		}
	}
	return ev
}

// changed is the model listener: it records what changed and wakes the dispatcher, never
// blocking (it may run inside an input handler, where QueueUpdateDraw would deadlock).
func (a *App) changed(c Change) {
	a.pending.Or(uint32(c))
	select {
	case a.dirty <- struct{}{}:
	default:
	}
}

// dispatch turns model changes into redraws on the UI goroutine, coalescing bursts.
func (a *App) dispatch() {
	for {
		select {
		case <-a.done:
			return
		case <-a.dirty:
			c := Change(a.pending.Swap(0))
			if c == 0 {
				continue
			}
			a.tv.QueueUpdateDraw(func() { a.apply(c) })
		}
	}
}

// apply renders the model into every view. UI goroutine only.
func (a *App) apply(c Change) {
	for _, v := range a.views {
		v.refresh(a.model, c)
	}
	a.drawChrome()
}

// Run shows the app until the user quits, ctx ends, or Stop is called. A panic inside the
// event loop restores the terminal before it propagates (tview finalises the screen).
func (a *App) Run(ctx context.Context) error {
	go a.dispatch()
	stop := context.AfterFunc(ctx, a.tv.Stop)
	defer stop()
	defer close(a.done)
	defer a.model.Close()
	a.log.Info("ui start", "title", a.opts.Title, "monochrome", a.pal.mono)
	if a.screen != nil {
		a.tv.SetScreen(a.screen)
	}
	err := a.tv.Run()
	a.log.Info("ui stop", "err", err)
	return err
}

// Stop ends Run.
func (a *App) Stop() { a.tv.Stop() }

// show switches to view i and focuses its current pane.
func (a *App) show(i int) {
	if i < 0 || i >= len(a.views) {
		return
	}
	if i != a.cur {
		a.log.Info("view", "name", a.views[i].title())
	}
	a.cur = i
	a.body.SwitchToPage(fmt.Sprint(i))
	a.focusPane()
	a.drawChrome()
}

func (a *App) focusPane() {
	ps := a.views[a.cur].panes()
	if len(ps) == 0 {
		return
	}
	a.tv.SetFocus(ps[a.paneIdx[a.cur]%len(ps)])
}

// nextPane moves the focus to the shown view's next pane.
func (a *App) nextPane() bool {
	ps := a.views[a.cur].panes()
	if len(ps) < 2 {
		return false
	}
	a.paneIdx[a.cur] = (a.paneIdx[a.cur] + 1) % len(ps)
	a.focusPane()
	return true
}

// escaper is a view with panes of its own to close on Esc.
type escaper interface{ escape() bool }

// escape closes what Esc closes: the view's own pane first, else the focus returns to the
// view's first pane.
func (a *App) escape() bool {
	if e, ok := a.views[a.cur].(escaper); ok && e.escape() {
		return true
	}
	if a.paneIdx[a.cur] != 0 {
		a.setPane(0)
		return true
	}
	return false
}

// setPane focuses pane p of the shown view (the views call it when a pane opens or closes).
func (a *App) setPane(p int) {
	a.paneIdx[a.cur] = p
	a.focusPane()
}

// openPackets shows the packets of t in the packet view, remembering where the user came from.
func (a *App) openPackets(t Target) {
	if a.cur != viewPackets {
		a.back = a.cur
	}
	a.model.OpenPackets(t)
	a.show(viewPackets)
}

// goBack returns from the packet view to the view that opened it.
func (a *App) goBack() { a.show(a.back) }

// jump shows view i with the row of the given id selected; a row hidden by the filter leaves a
// message saying so.
func (a *App) jump(i int, id string, sel func(id string) bool) {
	a.show(i)
	if !sel(id) {
		a.flash(fmt.Sprintf("%s is not in the report shown (filter: %s)", id, a.model.Filter()), toneWarn)
	}
}

// flash shows a message in the footer until the next key.
func (a *App) flash(msg string, t tone) {
	a.status, a.statusT = msg, t
	a.drawChrome()
}

// drawChrome renders the tabs, the context line and the footer.
func (a *App) drawChrome() {
	var tb strings.Builder
	tb.WriteString("[::b]stackflow[::-] ")
	for i, v := range a.views {
		label := fmt.Sprintf(" %d %s ", i+1, v.title())
		if i == a.cur {
			tb.WriteString("[::r]" + label + "[::-]")
		} else {
			tb.WriteString(label)
		}
	}
	a.tabs.SetText(tb.String())
	a.context.SetText(contextLine(a.pal, a.opts.Title, a.model.FullReport(), a.model.Report()))

	var ft string
	if a.status != "" {
		ft = a.pal.tag(a.statusT) + tview.Escape(a.status) + "[-:-:-]"
	} else {
		ft = "[::d]" + tview.Escape(footerHints(a.views[a.cur].keys(), a.globals)) + "[-:-:-]"
	}
	a.footer.SetText(ft)
}

// contextLine summarises the inputs and what the filter keeps.
func contextLine(pal palette, title string, full, shown *flows.Report) string {
	parts := []string{fmt.Sprintf("%d packets", full.Capture.Packets)}
	count := func(n, all int, what string) string {
		if shown == full || all == 0 {
			return plural(all, what)
		}
		return fmt.Sprintf("%d/%s", n, plural(all, what))
	}
	parts = append(parts,
		count(len(shown.Paths), len(full.Paths), "path"),
		count(len(shown.Flows), len(full.Flows), "flow"),
		count(len(shown.Findings), len(full.Findings), "finding"))
	if shown.Filter != "" {
		parts = append(parts, pal.tag(toneWarn)+"filter: "+tview.Escape(shown.Filter)+"[-:-:-]")
	}
	if title != "" {
		parts = append(parts, tview.Escape(title))
	}
	return strings.Join(parts, " · ")
}

// openFilter shows the filter field with the filter in force.
func (a *App) openFilter() {
	a.filterOn = true
	a.filterIn.SetText(a.model.Filter())
	a.filterEr.SetText("")
	a.layout.ResizeItem(a.filterIn, 1, 0)
	a.layout.ResizeItem(a.footer, 0, 0)
	a.tv.SetFocus(a.filterIn)
}

func (a *App) closeFilter() {
	a.filterOn = false
	a.filterEr.SetText("")
	a.layout.ResizeItem(a.filterEr, 0, 0)
	a.layout.ResizeItem(a.filterIn, 0, 0)
	a.layout.ResizeItem(a.footer, 1, 0)
	a.focusPane()
}

// filterDone applies the filter on Enter, or shows its error with a caret under the column;
// Esc closes the field and keeps the filter in force.
func (a *App) filterDone(key tcell.Key) {
	switch key {
	case tcell.KeyEscape:
		a.closeFilter()
		a.drawChrome()
	case tcell.KeyEnter:
		text := a.filterIn.GetText()
		if err := a.model.SetFilter(text); err != nil {
			a.log.Info("filter rejected", "expr", text, "err", err)
			a.filterEr.SetText(a.pal.tag(toneBad) + filterErrorLine(len(a.filterIn.GetLabel()), err) + "[-:-:-]")
			a.layout.ResizeItem(a.filterEr, 1, 0)
			return
		}
		a.closeFilter()
		if f := a.model.Filter(); f != "" {
			r := a.model.Report()
			a.flash(fmt.Sprintf("filter %s: %s, %s", f, plural(len(r.Paths), "path"), plural(len(r.Flows), "flow")), toneInfo)
		} else {
			a.flash("filter cleared", toneInfo)
		}
	}
}

// filterErrorLine puts a caret under the offending column of the field and the message after
// it: "        ^ column 6: expected address after "host", got "foo"".
func filterErrorLine(labelWidth int, err error) string {
	var fe *flows.FilterError
	if errors.As(err, &fe) {
		pad := strings.Repeat(" ", labelWidth+max(fe.Column, 1)-1)
		return pad + "^ column " + fmt.Sprint(fe.Column) + ": " + tview.Escape(fe.Msg)
	}
	return tview.Escape(err.Error())
}

// openHelp shows the help screen, generated from the key tables.
func (a *App) openHelp() {
	var secs []helpSection
	secs = append(secs, helpSection{title: "Everywhere", bindings: a.globals})
	for i, v := range a.views {
		secs = append(secs, helpSection{title: fmt.Sprintf("%d %s", i+1, v.title()), bindings: v.keys()})
	}
	secs = append(secs, helpSection{title: "Tables and panes", bindings: moveBindings})
	text := helpText(secs) + "\n" + strings.Join(wrapWords("The filter field: Enter applies (an empty filter shows everything), "+
		"Esc cancels; an error marks the column where the expression goes wrong. Filters narrow what "+
		"is shown; ids (p7, f12) stay those of the whole analysis, as analyze and export name them.", helpWidth), "\n") + "\n"
	if a.opts.LogPath != "" {
		text += "\nLog: " + a.opts.LogPath + "\n"
	}
	a.help.SetText(text).ScrollToBeginning()
	a.helpOpen = true
	a.root.ShowPage("help")
	a.tv.SetFocus(a.help)
}

func (a *App) closeHelp() {
	a.helpOpen = false
	a.root.HidePage("help")
	a.focusPane()
}
