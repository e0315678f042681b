package userland

import (
	"crypto/md5"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCoreutils(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "ls", script: `mkdir /tmp/d && cd /tmp/d && touch b a c && mkdir e && ln -s a l && ls && ls -1F | tr '\n' ' '; echo; ls -ld /tmp/d | cut -c1-10; ls -a /tmp/d | head -2 | tr '\n' ' '; echo`,
			want: "a\nb\nc\ne\nl\na b c e/ l@ \ndrwxr-xr-x\n. .. \n"},
		{name: "sort uniq", script: `printf 'b\na\nb\nc\na\nb\n' | sort | uniq -c | sort -rn | head -1; printf '10\n9\n100\n' | sort -n | tr '\n' ' '; echo; printf 'x:3\ny:1\nz:2\n' | sort -t: -k2,2n | cut -d: -f1 | tr -d '\n'; echo; printf 'a\na\nb\n' | uniq -d`,
			want: "      3 b\n9 10 100 \nyzx\na\n"},
		{name: "cut tr", script: `head -1 /etc/passwd | cut -d: -f1,6,7; echo abcdef | cut -c2-4; echo Hello | tr a-z A-Z; echo aabbcc | tr -s abc; echo abc123 | tr -d 0-9`,
			want: "root:/root:/bin/bash\nbcd\nHELLO\nabc\nabc\n"},
		{name: "head tail wc", script: `seq 100 | head -3 | tail -1; seq 100 | tail -n 2; seq 10 | tail -n +9 | tr '\n' ' '; echo; seq 1000 | wc -l; printf 'a b\nc\n' | wc -w -c; head -c 5 /dev/zero | wc -c`,
			want: "3\n99\n100\n9 10 \n1000\n      3       6\n5\n"},
		{name: "seq", script: `seq -s, 1 5; seq 10 -3 1 | tr '\n' ' '; echo; seq -w 8 10 | tr '\n' ' '; echo`,
			want: "1,2,3,4,5\n10 7 4 1 \n08 09 10 \n"},
		{name: "date", script: `date +%Y; date -u -d @0 +%F; date -u -d @86400 '+%Y-%m-%d %H:%M'`,
			want: fmt.Sprintf("%d\n1970-01-01\n1970-01-02 00:00\n", time.Now().Year())},
		{name: "misc", script: `basename /a/b.txt .txt; dirname /a/b; expr 6 \* 7; id -u; whoami; uname -s; cut -d. -f1 /etc/debian_version; printf 'x\0y' | od -An -c | tr -s ' '; echo hi > /tmp/f && cp /tmp/f /tmp/g && mv /tmp/g /tmp/h && cat /tmp/h && rm /tmp/h && test ! -e /tmp/h && echo removed; stat -c '%s %F' /tmp/f; env -i A=1 env; yes | head -2; sha256sum /dev/null | cut -c1-16`,
			want: "b\n/a\n42\n0\nroot\nLinux\n12\n x \\0 y\n" + "hi\nremoved\n3 regular file\nA=1\ny\ny\ne3b0c44298fc1c14\n"},
	})
}

func TestFind(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "tree", script: `mkdir -p /tmp/t/a/b /tmp/t/c && touch /tmp/t/a/x.txt /tmp/t/a/b/y.txt /tmp/t/c/z.log && cd /tmp/t &&
find . -type f | sort && find . -name '*.txt' -path '*b*' && find . -type d | sort | tr '\n' ' ' && echo &&
find . -type f -exec basename {} \; | sort | tr '\n' ' ' && echo && find . -name '*.log' -delete && find . -type f | wc -l &&
find . -maxdepth 1 -mindepth 1 | sort | tr '\n' ' ' && echo && find . -type f -print0 | xargs -0 ls | wc -l`,
			want: "./a/b/y.txt\n./a/x.txt\n./c/z.log\n./a/b/y.txt\n. ./a ./a/b ./c \nx.txt y.txt z.log \n2\n./a ./c \n2\n"},
		{name: "system", script: `find /etc -maxdepth 1 -name passwd -type f; find /usr/bin -maxdepth 1 -name 'python3' -o -maxdepth 1 -name perl | sort; find / -xdev -path /proc -prune -o -name debian_version -print`,
			want: "/etc/passwd\n/usr/bin/perl\n/usr/bin/python3\n/etc/debian_version\n"},
	})
}

func TestTarGzip(t *testing.T) {
	var seq strings.Builder
	for i := 1; i <= 100000; i++ {
		fmt.Fprintf(&seq, "%d\n", i)
	}
	sum := fmt.Sprintf("%x", md5.Sum([]byte(seq.String())))
	runCases(t, []scriptCase{
		{name: "tar round trip", script: `set -e; mkdir -p /tmp/src/d && seq 1000 > /tmp/src/n && echo hi > /tmp/src/d/h && ln -s n /tmp/src/link && chmod 600 /tmp/src/d/h
cd /tmp && tar czf a.tgz src && gzip -t a.tgz && mkdir out && tar xzf a.tgz -C out
diff -r src out/src && echo same; tar tzf a.tgz | sort; readlink out/src/link; stat -c %a out/src/d/h
tar cf - -C /tmp src | tar tvf - src/n | awk '{print $1, $3}'`,
			want: "same\nsrc/\nsrc/d/\nsrc/d/h\nsrc/link\nsrc/n\nn\n600\n-rw-r--r-- 3893\n"},
		{name: "gzip round trip", script: `cd /tmp && seq 100000 > big && gzip -9 -k big && gunzip -c big.gz | cmp - big && echo roundtrip; md5sum < big | cut -d' ' -f1; seq 100000 | gzip | gzip -d | md5sum | cut -d' ' -f1; zcat big.gz | tail -1`,
			want: "roundtrip\n" + sum + "\n" + sum + "\n100000\n"},
	})
}

func TestGrepSedAwk(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "grep", script: `printf 'apple\nbanana\ncherry\n' | grep -n an; grep -c '^root:' /etc/passwd; printf 'a1\nb2\n' | grep -E '[0-9]$' | grep -v a; grep -q nomatch /etc/passwd; echo $?; grep -o 'b[a-z]' <<< "banana boat"; grep -rl '^root:' /etc/passwd /etc/group | sort; grep -iw ROOT /etc/group | cut -d: -f1`,
			want: "2:banana\n1\nb2\n1\nba\nbo\n/etc/group\n/etc/passwd\nroot\n"},
		{name: "sed", script: `echo hello world | sed 's/o/0/g'; seq 5 | sed -n '2,4p' | tr '\n' ' '; echo; seq 3 | sed '2d' | tr '\n' ' '; echo; echo k=v | sed -E 's/(.*)=(.*)/\2=\1/'; echo x > /tmp/f; sed -i 's/x/y/' /tmp/f; cat /tmp/f; printf 'a\nb\n' | sed '1i\top' | sed '$a\end' | tr '\n' ' '; echo`,
			want: "hell0 w0rld\n2 3 4 \n1 3 \nv=k\ny\ntop a b end \n"},
		{name: "awk", script: `seq 10 | awk '{s += $1} END {print s}'; echo 'a b c' | awk '{print $2, NF}'; awk -F: '$3 == 0 {print $1}' /etc/passwd; awk 'BEGIN {printf "%.3f %d\n", atan2(0, -1), length("hello")}'; printf 'x 1\ny 2\nx 3\n' | awk '{t[$1] += $2} END {for (k in t) print k, t[k]}' | sort`,
			want: "55\nb 3\nroot\n3.142 5\nx 4\ny 2\n"},
	})
}
