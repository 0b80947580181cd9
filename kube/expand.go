package kube

import "strings"

// Kubernetes expands $(VAR) references in a container's command, args and
// env values, from the container's environment, and reduces $$ to $
// (kubelet's third_party/forked/golang/expansion). podkit does not: Load
// expands them, with the same rules, so the spec holds what the kubelet
// would run, and Export escapes every $ that would otherwise be read as one.

// expand replaces each $(NAME) in s with lookup(NAME); a reference lookup
// does not know, or one not closed by ')', is left as it is, and $$ becomes
// $.
func expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; next {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
			b.WriteByte(next)
			i++
		}
	}
	return b.String()
}

// escape returns the string that expand turns back into s, whatever the
// environment: each $ followed by '(' or '$' is doubled.
func escape(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == '$' && i+1 < len(s) && (s[i+1] == '(' || s[i+1] == '$') {
			b.WriteByte('$')
		}
	}
	return b.String()
}

func escapeAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = escape(s)
	}
	return out
}
