#!/usr/bin/perl
# Reads a listnews server with Perl's Net::NNTP (libnet) and prints what Net::NNTP parsed.
#
# usage: net_nntp_client.pl HOST PORT GROUP OUTDIR
#
# One TAB-separated record a line on stdout (kind first) for protocol-tests/real_clients.rs
# to check against the server's answers; fetched articles go to files in OUTDIR, in the
# "\n"-terminated lines Net::NNTP returns. A command Net::NNTP reports as failed prints a
# `fail` record with the server's reply.
use strict;
use warnings;
use File::Spec;
use Net::NNTP;

my ($host, $port, $group, $outdir) = @ARGV;
die "usage: $0 HOST PORT GROUP OUTDIR\n" unless defined $outdir;
binmode STDOUT;
$| = 1;

sub out { print join("\t", map { defined $_ ? $_ : '' } @_), "\n" }

# Connecting sends MODE READER (Reader is not 0).
my $nntp = Net::NNTP->new($host, Port => $port, Timeout => 30) or die "cannot connect: $@\n";
out('mode', $nntp->code, $nntp->postok ? 1 : 0);

sub need {
    my ($what, $value) = @_;
    unless (defined $value) {
        my $reply = join(' ', $nntp->message);
        $reply =~ s/\s+$//;
        out('fail', $what, $nntp->code, $reply);
    }
    return $value;
}

sub save {
    my ($name, $lines) = @_;
    open(my $fh, '>:raw', File::Spec->catfile($outdir, $name)) or die "$name: $!\n";
    print $fh @$lines;
    close $fh;
}

my $list = need('list', $nntp->list) || {};
out('list', $_, @{ $list->{$_} }) for sort keys %$list;

my ($count, $first, $last, $name) = $nntp->group($group);
need('group', $name);
out('group', $count, $first, $last, $name);

my $xover = need('xover', $nntp->xover([$first, $last])) || {};
out('xover', $_, @{ $xover->{$_} }) for sort { $a <=> $b } keys %$xover;

my $xhdr = need('xhdr', $nntp->xhdr('Subject', [$first, $last])) || {};
out('xhdr', $_, $xhdr->{$_}) for sort { $a <=> $b } keys %$xhdr;

# xpat with a list of words: Net::NNTP joins them with spaces after the range. The phrase is
# the first two adjacent words of a subject, free of wildmat specials.
my $phrase;
for my $n (sort { $a <=> $b } keys %$xhdr) {
    my @w = split / /, $xhdr->{$n};
    for my $i (0 .. $#w - 1) {
        my $p = "$w[$i] $w[$i + 1]";
        if (length $w[$i] && length $w[$i + 1] && $p !~ /[][*?\\]/) { $phrase = $p; last }
    }
    last if defined $phrase;
}
my @words = split / /, "*$phrase*";
out('xpat-pattern', join(' ', @words));
my $xpat = need('xpat', $nntp->xpat('Subject', \@words, [$first, $last])) || {};
out('xpat', $_, $xpat->{$_}) for sort { $a <=> $b } keys %$xpat;

# xpath for the first article and for every cross-posted one.
for my $n (sort { $a <=> $b } keys %$xover) {
    my ($xref) = grep { /^Xref: / } @{ $xover->{$n} };
    my @entries = split / /, $xref;
    next unless $n == $first || @entries > 3;
    my $id = $xover->{$n}[3];
    my @paths = $nntp->xpath($id);
    need("xpath $id", $paths[0]);
    out('xpath', $id, @paths);
}
my @missing = $nntp->xpath('<no-such-article@example.org>');
out('xpath-missing', $nntp->code, scalar @missing);

my $xrover = need('xrover', $nntp->xrover([$first, $last])) || {};
out('xrover', $_, $xrover->{$_}) for sort { $a <=> $b } keys %$xrover;

my $article = need('article', $nntp->article($first));
save("article-$first", $article) if $article;
my $first_id = $xover->{$first}[3];
my $by_id = need('article by id', $nntp->article($first_id));
save('article-id', $by_id) if $by_id;
out('stat', $first + 1, need('nntpstat', $nntp->nntpstat($first + 1)));

my $fmt = need('overview_fmt', $nntp->overview_fmt) || [];
out('overview_fmt', @$fmt);
my $numbers = need('listgroup', $nntp->listgroup($group)) || [];
out('listgroup', @$numbers);
my $titles = need('xgtitle', $nntp->xgtitle('example.*')) || {};
out('xgtitle', $_, $titles->{$_}) for sort keys %$titles;
my $newsgroups = need('newsgroups', $nntp->newsgroups('example.*')) || {};
out('newsgroups', $_, $newsgroups->{$_}) for sort keys %$newsgroups;
my $times = need('active_times', $nntp->active_times) || {};
out('active_times', $_, @{ $times->{$_} }[0, 1]) for sort keys %$times;
my $subscriptions = need('subscriptions', $nntp->subscriptions) || [];
out('subscriptions', @$subscriptions);
my $distributions = $nntp->distributions;
out('distributions', $nntp->code, defined $distributions ? 'data' : 'none');

# DATE, then NEWGROUPS/NEWNEWS in the yymmdd hhmmss GMT form (newnews asks about the
# current group).
my $now = need('date', $nntp->date);
out('date', $now);
my $new = need('newgroups', $nntp->newgroups($now - 86400)) || {};
out('newgroup', $_) for sort keys %$new;
my $news = need('newnews', $nntp->newnews($now - 86400)) || [];
out('newnews', $_) for @$news;

$nntp->quit;
out('quit', $nntp->code);
