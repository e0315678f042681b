package testutil

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Where APT keeps its list of package sources.
const (
	AptSourcesList = "/etc/apt/sources.list"
	AptSourcesDir  = "/etc/apt/sources.list.d"
)

// MirrorEnv, when set, names the Debian mirror to bootstrap from instead of
// the one found in the host's APT sources.
const MirrorEnv = "BULWARK_DEBIAN_MIRROR"

// debianSuites are the Debian archive's release names and aliases. An APT
// source for one of them (rather than for bookworm-security or a third-party
// suite) is a mirror of the Debian archive itself.
var debianSuites = map[string]bool{
	"buster": true, "bullseye": true, "bookworm": true, "trixie": true, "forky": true, "duke": true,
	"sid": true, "oldoldstable": true, "oldstable": true, "stable": true, "testing": true, "unstable": true,
}

// aptSource is one APT source entry: one line of a .list file or one
// paragraph of a deb822 .sources file.
type aptSource struct {
	types, uris, suites, components []string
}

// isDebianMain reports whether s is a binary source of the main component of
// a Debian release suite over a scheme debootstrap can fetch from.
func (s aptSource) isDebianMain() bool {
	return slices.Contains(s.types, "deb") && slices.Contains(s.components, "main") &&
		slices.ContainsFunc(s.suites, func(x string) bool { return debianSuites[x] })
}

// DebianMirror returns the Debian mirror to bootstrap from: $BULWARK_DEBIAN_MIRROR
// if set, else the URI of the first Debian main entry of the host's APT
// sources (/etc/apt/sources.list, then /etc/apt/sources.list.d/*.list and
// *.sources in name order, as APT reads them).
func DebianMirror() (string, error) {
	if m := strings.TrimSpace(os.Getenv(MirrorEnv)); m != "" {
		return m, nil
	}
	return debianMirror(AptSourcesList, AptSourcesDir)
}

// debianMirror is DebianMirror over the given sources.list file and parts
// directory, either of which may be missing.
func debianMirror(list, dir string) (string, error) {
	files := []string{list}
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return "", fmt.Errorf("listing %q: %w", dir, err)
	}
	sort.Strings(names)
	files = append(files, names...)
	for _, f := range files {
		var parse func(string) []aptSource
		switch {
		case strings.HasSuffix(f, ".sources"):
			parse = parseDeb822Sources
		case f == list || strings.HasSuffix(f, ".list"):
			parse = parseOneLineSources
		default:
			continue // APT ignores other names (*.disabled, *.save, ...)
		}
		data, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reading APT sources %q: %w", f, err)
		}
		for _, s := range parse(string(data)) {
			if !s.isDebianMain() {
				continue
			}
			for _, u := range s.uris {
				if fetchable(u) {
					return strings.TrimRight(u, "/"), nil
				}
			}
		}
	}
	return "", fmt.Errorf("no Debian main archive (a 'deb' entry for a release suite such as bookworm, component main) in %s or %s/*.{list,sources}: set %s=<mirror URL>", list, dir, MirrorEnv)
}

// fetchable reports whether debootstrap can download from uri.
func fetchable(uri string) bool {
	for _, p := range []string{"http://", "https://", "file:/"} {
		if strings.HasPrefix(uri, p) {
			return true
		}
	}
	return false
}

// parseOneLineSources parses the one-line format of sources.list(5):
//
//	deb [ option=value ... ] uri suite [component ...]
func parseOneLineSources(text string) []aptSource {
	var out []aptSource
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		typ := f[0]
		f = f[1:]
		// Options: "[ a=b c=d ]", "[a=b]" or "[a=b c=d]".
		if len(f) > 0 && strings.HasPrefix(f[0], "[") {
			for len(f) > 0 {
				last := f[0]
				f = f[1:]
				if strings.HasSuffix(last, "]") {
					break
				}
			}
		}
		if len(f) < 2 {
			continue
		}
		out = append(out, aptSource{
			types: []string{typ}, uris: []string{f[0]}, suites: []string{f[1]}, components: f[2:],
		})
	}
	return out
}

// parseDeb822Sources parses the deb822 format of sources.list(5):
// paragraphs of "Field: value" lines separated by blank lines, '#'
// comments, continuation lines starting with white space, and an optional
// "Enabled: no".
func parseDeb822Sources(text string) []aptSource {
	var out []aptSource
	fields := map[string]string{}
	last := ""
	flush := func() {
		if len(fields) > 0 && !strings.EqualFold(strings.TrimSpace(fields["enabled"]), "no") {
			out = append(out, aptSource{
				types:      strings.Fields(fields["types"]),
				uris:       strings.Fields(fields["uris"]),
				suites:     strings.Fields(fields["suites"]),
				components: strings.Fields(fields["components"]),
			})
		}
		fields = map[string]string{}
		last = ""
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20) // Signed-By may embed a whole key
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}
