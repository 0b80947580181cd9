package kube

import (
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// source is the text of one YAML document of a file.
type source struct {
	text  []byte
	start int // the line of the file the document starts on, from 1
}

// locate gives each problem without a line the line of the file its path
// is on, or that of the deepest part of the path the document has (the
// line of spec for a missing spec.selector). Paths are those within
// their document, without a documents[i] prefix.
func locate(list []Problem, srcs []source) {
	roots := make(map[int]*yaml.Node)
	for i := range list {
		p := &list[i]
		if p.Line != 0 || p.whole || p.Document < 0 || p.Document >= len(srcs) {
			continue
		}
		root, ok := roots[p.Document]
		if !ok {
			var n yaml.Node
			if yaml.Unmarshal(srcs[p.Document].text, &n) == nil {
				root = &n
			}
			roots[p.Document] = root
		}
		if root == nil {
			continue
		}
		if line := lineOf(root, p.Path); line > 0 {
			p.Line = srcs[p.Document].start + line - 1
		}
	}
}

// lineOf returns the line, within its document, of path, or of the
// deepest part of path the document has; 0 when it has none. A field's
// line is its key's; a map key may hold dots (data.index.html).
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return 0
		}
		n = n.Content[0]
	}
	line := n.Line
	for rest := path; rest != ""; {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch rest[0] {
		case '.':
			rest = rest[1:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 || n.Kind != yaml.SequenceNode {
				return line
			}
			i, err := strconv.Atoi(rest[1:end])
			if err != nil || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
			rest = rest[end+1:]
		default:
			if n.Kind != yaml.MappingNode {
				return line
			}
			var key, value *yaml.Node
			for k := 0; k+1 < len(n.Content); k += 2 {
				name := n.Content[k].Value
				if (key == nil || len(name) > len(key.Value)) && strings.HasPrefix(rest, name) &&
					(len(rest) == len(name) || rest[len(name)] == '.' || rest[len(name)] == '[') {
					key, value = n.Content[k], n.Content[k+1]
				}
			}
			if key == nil {
				return line
			}
			n = value
			line = key.Line
			rest = rest[len(key.Value):]
		}
	}
	return line
}
