package reports

import (
	"bytes"
	"encoding/json"
)

// compactChunks is json.Marshal(r) in pieces of about chunkSize. The
// arrays that grow with a run (migrations, plans, hosts: 80 MB at 10,000
// hosts) are encoded element by element; json.Marshal's one buffer grew
// by doubling to 128 MB, clearing and copying as it went, and was then
// copied once more into its result. The pieces are what indentChunks
// takes: no chunk ends inside a string, and an array's '[' travels with
// its first element.
func compactChunks(r *Report) ([][]byte, error) {
	migrations, plans, hosts := r.Migrations, r.Plans, r.Hosts
	r.Migrations, r.Plans, r.Hosts = nil, nil, nil
	head, err := json.Marshal(r)
	r.Migrations, r.Plans, r.Hosts = migrations, plans, hosts
	if err != nil {
		return nil, err
	}
	var w chunkWriter
	enc := json.NewEncoder(&w.elem)
	arrays := []struct {
		key    string
		encode func() error
	}{
		{"migrations", func() error { return encodeArray(&w, enc, migrations) }},
		{"plans", func() error { return encodeArray(&w, enc, plans) }},
		{"hosts", func() error { return encodeArray(&w, enc, hosts) }},
	}
	at := 0
	for _, a := range arrays {
		// Each left as null in head, in the struct's order; anything
		// else (a field renamed, reordered) falls back to one Marshal.
		i := topLevelValue(head, a.key)
		if i < at || !bytes.HasPrefix(head[i:], []byte("null")) {
			whole, err := json.Marshal(r)
			return [][]byte{whole}, err
		}
		w.write(head[at:i])
		if err := a.encode(); err != nil {
			return nil, err
		}
		at = i + len("null")
	}
	w.write(head[at:])
	return w.chunks(), nil
}

const chunkSize = 1 << 20

// chunkWriter collects written bytes in chunks of about chunkSize; one
// write never spans two chunks.
type chunkWriter struct {
	done [][]byte
	cur  []byte
	elem bytes.Buffer // an element as the Encoder writes it
}

func (w *chunkWriter) write(b []byte) {
	if len(w.cur)+len(b) > cap(w.cur) {
		if len(w.cur) > 0 {
			w.done = append(w.done, w.cur)
		}
		w.cur = make([]byte, 0, max(chunkSize, len(b)))
	}
	w.cur = append(w.cur, b...)
}

func (w *chunkWriter) chunks() [][]byte {
	if len(w.cur) > 0 {
		w.done = append(w.done, w.cur)
	}
	return w.done
}

// encodeArray writes xs as json.Marshal would: null for nil, [] for
// empty, else each element as an Encoder writes it less its newline
// (json.Marshal's bytes: the same encoder, HTML escaped alike), with the
// '[' or ',' before it in the same write.
func encodeArray[T any](w *chunkWriter, enc *json.Encoder, xs []T) error {
	switch {
	case xs == nil:
		w.write([]byte("null"))
		return nil
	case len(xs) == 0:
		w.write([]byte("[]"))
		return nil
	}
	for i := range xs {
		w.elem.Reset()
		if i == 0 {
			w.elem.WriteByte('[')
		} else {
			w.elem.WriteByte(',')
		}
		if err := enc.Encode(&xs[i]); err != nil {
			return err
		}
		b := w.elem.Bytes()
		w.write(b[:len(b)-1])
	}
	w.write([]byte("]"))
	return nil
}

// topLevelValue is the offset in the compact JSON object src of the
// value of key, or -1: a string at depth 1 followed by ':' is a key of
// the object itself.
func topLevelValue(src []byte, key string) int {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '"':
			j := i + 1
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' {
					j++
				}
			}
			if depth == 1 && j+1 < len(src) && src[j+1] == ':' && string(src[i+1:j]) == key {
				return j + 2
			}
			i = j
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
	}
	return -1
}
