package reports

// indent lays out compact JSON, as json.Marshal writes it, the way
// json.Indent(dst, src, "", "  ") does, followed by a newline: the bytes
// of an Encoder with SetIndent("", "  "). It exists for size: a 10,000-host
// report is 80 MB compact and 176 MB laid out, and json.Indent's
// destination grows from twice the input, which is too little, so it
// regrew, clearing and copying the whole; here one pass counts the exact
// size and a second fills a slice of that size.
//
// src must be json.Marshal's output: no space outside strings.
func indent(src []byte) []byte {
	return indentInto(make([]byte, 0, indentedLen(src)), src)
}

func indentedLen(src []byte) int {
	n, depth := 1, 0 // the final newline
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
	return n
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

func indentInto(dst, src []byte) []byte {
	depth := 0
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
	return append(dst, '\n')
}
