package userland

import "testing"

func TestBash(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "pipeline", script: `printf '%s\n' c a b a | sort | uniq | tr '\n' ' '; echo; false | true | (exit 3); echo "${PIPESTATUS[@]}"`,
			want: "a b c \n1 0 3\n"},
		{name: "subshell", script: `x=1; (x=2; echo in $x); echo out $x; echo $(echo $(echo nested)); echo $BASH_SUBSHELL $(echo $BASH_SUBSHELL); (exit 7); echo $?`,
			want: "in 2\nout 1\nnested\n0 1\n7\n"},
		{name: "process substitution", script: `diff <(seq 3) <(printf '1\n2\n3\n') && echo same; while read -r l; do echo "<$l>"; done < <(printf 'x\ny\n')`,
			want: "same\n<x>\n<y>\n"},
		{name: "functions arrays heredoc", script: "f() { local s=0; for i in \"$@\"; do ((s += i)); done; echo $s; }; f 1 2 3 4\n" +
			"a=(x y z); a+=(w); echo ${#a[@]} ${a[1]} ${a[-1]}; declare -A m=([k]=v); echo ${m[k]}\n" +
			"cat <<EOF\nsum=$((6 * 7)) ${HOME}\nEOF\n",
			want: "10\n4 y w\nv\nsum=42 /root\n"},
		{name: "trap", script: `trap 'echo exiting' EXIT; trap 'echo got USR1' USR1; kill -USR1 $$; echo after`,
			want: "got USR1\nafter\nexiting\n"},
		{name: "trap in child", script: `bash -c 'trap "echo term; exit 7" TERM; kill -TERM $$; sleep 5'; echo status $?`,
			want: "term\nstatus 7\n"},
		{name: "background and wait", script: `sleep 0.2 & p=$!; (exit 3) & q=$!; wait $q; echo q $?; wait $p; echo p $?; for i in 1 2 3; do (echo job $i > /tmp/j$i) & done; wait; cat /tmp/j1 /tmp/j2 /tmp/j3`,
			want: "q 3\np 0\njob 1\njob 2\njob 3\n"},
		{name: "kill", script: `sleep 30 & p=$!; kill $p; wait $p; echo $?; sleep 30 & p=$!; kill -9 $p; wait $p; echo $?; kill -0 $$ && echo alive`,
			want: "143\n137\nalive\n"},
		{name: "job control", script: `set -m; sleep 30 & kill -STOP %1; sleep 0.2; jobs; kill -CONT %1; kill %1; wait %1; echo $?`,
			want: "[1]+  Stopped                 sleep 30\n143\n"},
		{name: "exit status", script: `echo before; exit 42`, want: "before\n", exit: 42},
		{name: "script file", script: `printf '#!/bin/bash\necho "script $# $1"\nexit 4\n' > /tmp/s; chmod +x /tmp/s; /tmp/s arg; echo $?`,
			want: "script 1 arg\n4\n"},
	})
}
