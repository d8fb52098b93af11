package reports

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// canvas is an image of two stacked plots in one of gonum's formats.
type canvas struct {
	c  vg.CanvasWriterTo
	dc draw.Canvas
}

func vgimgFor(path string, w, h vg.Length) *canvas {
	var c vg.CanvasWriterTo
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	case ".svg":
		c = vgsvg.New(w, h)
	case ".pdf":
		c = vgpdf.New(w, h)
	default:
		return nil
	}
	return &canvas{c: c, dc: draw.New(c)}
}

// split gives the top and bottom halves, the bottom one h high.
func (cv *canvas) split(h vg.Length) (top, bottom draw.Canvas) {
	top, bottom = cv.dc, cv.dc
	bottom.Max.Y = bottom.Min.Y + h
	top.Min.Y = bottom.Max.Y
	return top, bottom
}

func (cv *canvas) save(path string) error {
	var buf bytes.Buffer
	if _, err := cv.c.WriteTo(io.Writer(&buf)); err != nil {
		return err
	}
	return renameio.WriteFile(path, buf.Bytes(), 0o644)
}
