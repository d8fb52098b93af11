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

// canvas is an image of stacked plots in one of gonum's formats.
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

// row is the i-th of n panels stacked from the top.
func (cv *canvas) row(i, n int) draw.Canvas {
	c := cv.dc
	h := (c.Max.Y - c.Min.Y) / vg.Length(n)
	c.Max.Y = cv.dc.Max.Y - vg.Length(i)*h
	c.Min.Y = c.Max.Y - h
	return c
}

func (cv *canvas) save(path string) error {
	var buf bytes.Buffer
	if _, err := cv.c.WriteTo(io.Writer(&buf)); err != nil {
		return err
	}
	return renameio.WriteFile(path, buf.Bytes(), 0o644)
}
