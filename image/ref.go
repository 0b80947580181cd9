package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podkit/podkit/pod"
)

// idPrefix matches a bare image ID or a prefix of one long enough to be
// unambiguous in practice, as podman accepts.
var idPrefix = regexp.MustCompile(`^(sha256:)?[0-9a-f]{12,64}$`)

// query is a parsed reference: a tag, a digest, or an image ID (prefix).
type query struct {
	raw string
	ref name.Reference // nil for an ID that is no valid name
	id  string         // hex prefix of a config digest, or ""
}

func parseQuery(ref string) (query, error) {
	if idPrefix.MatchString(ref) {
		// A hex string may also be a repository name; find tries it
		// as one when no ID matches, as podman does.
		q := query{raw: ref, id: strings.TrimPrefix(ref, "sha256:")}
		if r, err := name.ParseReference(ref); err == nil {
			q.ref = r
		}
		return q, nil
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return query{}, fmt.Errorf("image: %q: %w: %w", ref, pod.ErrInvalidImageName, err)
	}
	return query{raw: ref, ref: r}, nil
}

// parseRemote parses a reference Pull can fetch: a tag or a digest.
func parseRemote(ref string) (name.Reference, error) {
	if strings.HasPrefix(ref, "sha256:") {
		return nil, fmt.Errorf("image: %q: %w: an image ID names no registry", ref, pod.ErrInvalidImageName)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("image: %q: %w: %w", ref, pod.ErrInvalidImageName, err)
	}
	return r, nil
}

// entry is one image of the store: a manifest and the names it has.
type entry struct {
	digest v1.Hash
	desc   v1.Descriptor // the first index.json descriptor of the manifest
	names  []string
}

// entries groups index.json's descriptors by manifest, in index order.
func entries(idx *v1.IndexManifest) []*entry {
	var out []*entry
	by := map[v1.Hash]*entry{}
	for _, d := range idx.Manifests {
		e := by[d.Digest]
		if e == nil {
			e = &entry{digest: d.Digest, desc: d}
			by[d.Digest] = e
			out = append(out, e)
		}
		if n := d.Annotations[annotationRefName]; n != "" {
			e.names = append(e.names, n)
		}
	}
	return out
}

// find resolves q among idx's images. The name it returns is the
// reference the image is known by: the tag asked for, the digest
// reference, or for an ID the image's first name. configID returns an
// image's configuration digest, read from its manifest.
func find(idx *v1.IndexManifest, q query, configID func(v1.Hash) (v1.Hash, error)) (*entry, string, error) {
	es := entries(idx)
	if q.id != "" {
		var found *entry
		for _, e := range es {
			id, err := configID(e.digest)
			if err != nil {
				return nil, "", err
			}
			if !strings.HasPrefix(id.Hex, q.id) || found == e {
				continue
			}
			if found != nil {
				return nil, "", fmt.Errorf("image: %q: %w: the ID prefix names several images", q.raw, pod.ErrInvalidImageName)
			}
			found = e
		}
		if found != nil {
			n := found.digest.String()
			if len(found.names) > 0 {
				n = found.names[0]
			}
			return found, n, nil
		}
	}
	switch r := q.ref.(type) {
	case name.Tag:
		for _, e := range es {
			for _, n := range e.names {
				if n == r.Name() {
					return e, n, nil
				}
			}
		}
	case name.Digest:
		for _, e := range es {
			if e.digest.String() == r.DigestStr() {
				return e, r.Name(), nil
			}
		}
	}
	return nil, "", fmt.Errorf("image: %q: %w", q.raw, pod.ErrImageNotPresent)
}
