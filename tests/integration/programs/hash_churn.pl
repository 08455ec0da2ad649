# Builds and drops large hashes, arrays and strings, and prints a digest of
# them. Hash order is never relied on: keys are sorted before use.
use strict;
use warnings;
use Digest::MD5;

my $md5 = Digest::MD5->new;
for my $round (1 .. 4) {
    my %h;
    $h{"k$_-$round"} = [ $_, "v" x ($_ % 13), { n => $_ } ] for 1 .. 40000;
    my @list = map { join(",", 1 .. ($_ % 40)) } 1 .. 10000;
    my $text = join("\n", @list);
    delete $h{"k$_-$round"} for grep { $_ % 3 == 0 } 1 .. 40000;
    my @keys = sort keys %h;
    $md5->add(scalar(@keys), $keys[0], $keys[-1], length($text));
    $md5->add(join(":", map { $h{$_}[0] } @keys[0 .. 999]));
    my @words = sort { $a cmp $b } split /,/, $text;
    $md5->add(scalar(@words), $words[12345]);
}
print $md5->hexdigest, "\n";
