package userland

import "testing"

func TestPerl(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "print", script: `perl -e 'print join(",", map { $_ * 2 } 1..5), "\n"'`, want: "2,4,6,8,10\n"},
		{name: "hash regex sprintf", script: `perl -e 'my %h = (b => 2, a => 1, c => 3); print join(" ", map {"$_=$h{$_}"} sort keys %h), "\n"; my ($y, $m, $d) = "2024-05-06" =~ /(\d+)-(\d+)-(\d+)/; printf "%d/%d/%d\n", $d, $m, $y;'`,
			want: "a=1 b=2 c=3\n6/5/2024\n"},
		{name: "fork pipe wait", script: `perl -e 'pipe(R, W); my $p = fork; if (!$p) { close R; print W "hi from child\n"; exit 3 } close W; print scalar <R>; waitpid($p, 0); print $? >> 8, "\n"'`,
			want: "hi from child\n3\n"},
		{name: "filters", script: `seq 5 | perl -ne 'print if $_ % 2' | tr '\n' ' '; echo; echo abc | perl -pe 's/b/B/'; echo x > /tmp/f; perl -i -pe 's/x/z/' /tmp/f; cat /tmp/f`,
			want: "1 3 5 \naBc\nz\n"},
		{name: "modules", script: `perl -MPOSIX=floor -MList::Util=sum,max -e 'print floor(3.7), " ", sum(1..100), " ", max(3, 9, 2), "\n"'; perl -MFile::Temp=tempfile -e '($fh, $n) = tempfile(DIR => "/tmp"); print $fh "t"; close $fh; print -s $n, "\n"'`,
			want: "3 5050 9\n1\n"},
		{name: "system signals", script: `perl -e '$SIG{USR1} = sub { print "got USR1\n" }; kill "USR1", $$; sleep 0 ; print "exit ", system("sh", "-c", "exit 2") >> 8, "\n"; print scalar(` + "`echo backtick`" + `);'`,
			want: "got USR1\nexit 2\nbacktick\n"},
	})
}
