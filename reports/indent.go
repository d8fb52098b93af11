package reports

// indentChunks lays out compact JSON, as json.Marshal writes it, given as
// the concatenation of chunks, the way json.Indent(dst, src, "", "  ")
// does, followed by a newline: the bytes of an Encoder with
// SetIndent("", "  "). It exists for size: a 10,000-host report is 80 MB
// compact and 176 MB laid out, and json.Indent's destination grows from
// twice the input, which is too little, so it regrew, clearing and copying
// the whole; here one pass counts the exact size and a second fills a
// slice of that size.
//
// The JSON must be json.Marshal's output: no space outside strings. A
// chunk may end anywhere but inside a string or right after the '[' or '{'
// of an empty array or object (the one place it looks a byte ahead).
func indentChunks(chunks [][]byte) []byte {
	n, depth := 1, 0 // the final newline
	for _, c := range chunks {
		var k int
		k, depth = indentedLen(c, depth)
		n += k
	}
	dst := make([]byte, 0, n)
	depth = 0
	for _, c := range chunks {
		dst, depth = indentInto(dst, c, depth)
	}
	return append(dst, '\n')
}

// indentedLen is the length of src laid out from the given depth, and
// the depth after it.
func indentedLen(src []byte, depth int) (int, int) {
	n := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		n++
		switch c {
		case '"':
			i, n = skipString(src, i, n)
		case '{', '[':
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				i++
				n++
				continue
			}
			depth++
			n += 1 + 2*depth
		case '}', ']':
			depth--
			n += 1 + 2*depth
		case ',':
			n += 1 + 2*depth
		case ':':
			n++
		}
	}
	return n, depth
}

// skipString counts the string opening at src[i] (its quote already
// counted) and returns the index of its closing quote.
func skipString(src []byte, i, n int) (int, int) {
	for i++; i < len(src); i++ {
		n++
		switch src[i] {
		case '\\':
			i++
			n++
		case '"':
			return i, n
		}
	}
	return i, n
}

// pad is a newline and the indentation of the deepest level a report
// reaches, and more: sliced, it saves a loop per line.
const pad = "\n                                                                "

// indentInto appends src laid out from the given depth to dst, and
// returns the depth after it.
func indentInto(dst, src []byte, depth int) ([]byte, int) {
	newline := func() {
		if n := 1 + 2*depth; n <= len(pad) {
			dst = append(dst, pad[:n]...)
			return
		}
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, ' ', ' ')
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			j := i + 1
			for ; j < len(src); j++ {
				if src[j] == '\\' {
					j++
				} else if src[j] == '"' {
					break
				}
			}
			dst = append(dst, src[i:j+1]...)
			i = j
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst, depth
}
