package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// figure is one chart of the HTML report: a gonum plot drawn on an SVG
// canvas, with a legend drawn beneath the data rather than over it, and
// tooltips laid over the marks that have something to say.
type figure struct {
	p      *plot.Plot
	w, h   vg.Length
	legend []legendEntry // drawn in a strip under the plot
	tips   []tip
}

// legendEntry is one line of a figure's legend.
type legendEntry struct {
	name  string
	thumb plot.Thumbnailer
}

func (f *figure) addLegend(name string, t plot.Thumbnailer) {
	f.legend = append(f.legend, legendEntry{name, t})
}

// tip is a tooltip: a rectangle in data coordinates and its text.
type tip struct {
	x0, y0, x1, y1 float64
	text           string
}

// legendRows is how many rows a legend of n entries takes in columns
// of cols entries, so the strip under the plot is as high as it needs.
func legendRows(n, cols int) int { return (n + cols - 1) / cols }

// legendCols is how many legend entries fit side by side in width w:
// as many as the longest name allows, so no name runs into the next.
func legendCols(w vg.Length, entries []legendEntry, sty draw.TextStyle) int {
	var widest vg.Length
	for _, e := range entries {
		widest = max(widest, sty.Width(e.name))
	}
	return max(1, min(4, int((w-40)/(widest+36))))
}

// render draws the figure and returns it as inline SVG: no XML prolog,
// sized by its viewBox so it scales with the page, with a <title> for
// screen readers and one <title> per tooltip rectangle.
func (f *figure) render(title string) (template.HTML, error) {
	c := vgsvg.New(f.w, f.h)
	plotArea := f.draw(draw.New(c))
	var overlay strings.Builder
	if len(f.tips) > 0 {
		da := f.p.DataCanvas(plotArea)
		trX, trY := f.p.Transforms(&da)
		overlay.WriteString(`<g class="tips" fill="transparent">` + "\n")
		for _, t := range f.tips {
			x0, x1 := trX(t.x0).Points(), trX(t.x1).Points()
			// NaN y bounds span the whole data area (a moment's line).
			y0, y1 := da.Min.Y.Points(), da.Max.Y.Points()
			if !math.IsNaN(t.y0) {
				y0, y1 = trY(t.y0).Points(), trY(t.y1).Points()
			}
			if x1 < x0 {
				x0, x1 = x1, x0
			}
			if y1 < y0 {
				y0, y1 = y1, y0
			}
			// A tooltip too narrow to point at is widened to 3 pt.
			if x1-x0 < 3 {
				mid := (x0 + x1) / 2
				x0, x1 = mid-1.5, mid+1.5
			}
			fmt.Fprintf(&overlay, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`+"\n",
				x0, y0, x1-x0, y1-y0, template.HTMLEscapeString(t.text))
		}
		overlay.WriteString("</g>\n")
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	return inlineSVG(buf.String(), title, overlay.String()), nil
}

var svgHead = regexp.MustCompile(`(?s)^<\?xml[^>]*>\s*<!--[^>]*-->\s*<svg width="[^"]*" height="[^"]*"`)

// inlineSVG turns vgsvg's standalone document into an element of the
// page: the prolog goes, the fixed size in points gives way to the
// viewBox (CSS sets the width), and the overlay goes inside the group
// that flips y, so it shares the plot's coordinates.
func inlineSVG(doc, title, overlay string) template.HTML {
	doc = svgHead.ReplaceAllString(doc, `<svg class="chart" role="img"`)
	// A raster (the heat map) fills the rectangle the plot gives it; by
	// default SVG keeps its pixels' aspect and shrinks it to a band.
	doc = strings.ReplaceAll(doc, "<image ", `<image preserveAspectRatio="none" `)
	if i := strings.Index(doc, ">"); i >= 0 {
		doc = doc[:i+1] + "\n<title>" + template.HTMLEscapeString(title) + "</title>" + doc[i+1:]
	}
	if overlay != "" {
		end := strings.LastIndex(doc, "</g>")
		doc = doc[:end] + overlay + doc[end:]
	}
	return template.HTML(doc)
}

// draw draws the plot and its legend strip on dc and returns the area
// the plot took.
func (f *figure) draw(dc draw.Canvas) draw.Canvas {
	plotArea := dc
	if len(f.legend) > 0 {
		rows := legendRows(len(f.legend), legendCols(dc.Max.X-dc.Min.X, f.legend, f.p.Legend.TextStyle))
		strip := vg.Length(rows)*14 + 6
		plotArea.Min.Y += strip
		legendArea := dc
		legendArea.Max.Y = dc.Min.Y + strip
		drawLegendGrid(legendArea, f.legend, f.p.Legend.TextStyle)
	}
	f.p.Draw(plotArea)
	return plotArea
}

// drawLegendGrid draws the legend's entries in rows of legendCols, each a
// thumbnail and its name, left to right.
func drawLegendGrid(c draw.Canvas, entries []legendEntry, sty draw.TextStyle) {
	cols := legendCols(c.Max.X-c.Min.X, entries, sty)
	colW := (c.Max.X - c.Min.X - 40) / vg.Length(cols)
	for i, e := range entries {
		row, col := i/cols, i%cols
		x := c.Min.X + 40 + vg.Length(col)*colW
		y := c.Max.Y - vg.Length(row+1)*14
		thumb := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: y + 2}, Max: vg.Point{X: x + 18, Y: y + 11}}}
		e.thumb.Thumbnail(&thumb)
		sty.XAlign, sty.YAlign = draw.XLeft, draw.YBottom
		c.FillText(sty, vg.Point{X: x + 22, Y: y + 2}, e.name)
	}
}

// Colours of the report, one per meaning, used by every chart.
var (
	colTLS        = color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}
	colTCP        = color.RGBA{R: 0x3a, G: 0xa3, B: 0x9f, A: 0xff}
	colForced     = color.RGBA{R: 0xe0, G: 0x8a, B: 0x00, A: 0xff}
	colPostCopy   = color.RGBA{R: 0x86, G: 0x4f, B: 0xc8, A: 0xff}
	colFailed     = color.RGBA{R: 0xd0, G: 0x2a, B: 0x2a, A: 0xff}
	colUnfinished = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
	colDowntime   = color.RGBA{A: 0xff}
	colMaint      = color.RGBA{R: 0x55, G: 0x55, B: 0xdd, A: 0xff}
	colWarning    = color.RGBA{R: 0xff, G: 0x8c, B: 0x00, A: 0xff}
	colFailure    = color.RGBA{R: 0xc0, G: 0x00, B: 0x00, A: 0xff}
	colLink       = color.RGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}
	colDeadline   = color.RGBA{R: 0xc0, G: 0x00, B: 0x00, A: 0xff}
)

// palette is for series that have no meaning of their own (runs, links).
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	color.RGBA{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}, color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
}
