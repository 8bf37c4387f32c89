#!/usr/bin/perl
# Posts an article with Perl's Net::NNTP (libnet), as a script would.
#
# usage: post_net_nntp.pl HOST PORT USER PASSWORD ARTICLE_FILE
#
# Logs in (authinfo), posts the file's lines (Net::NNTP's post, which dot-stuffs and ends
# the block) and prints the server's final code and message; exits 1 if the post failed.
use strict;
use warnings;
use Net::NNTP;

my ($host, $port, $user, $password, $path) = @ARGV;
die "usage: $0 HOST PORT USER PASSWORD FILE\n" unless defined $path;
my $nntp = Net::NNTP->new($host, Port => $port, Timeout => 30) or die "cannot connect: $@\n";
$nntp->authinfo($user, $password) or die "authinfo: " . $nntp->code . " " . $nntp->message;
open(my $fh, '<', $path) or die "$path: $!\n";
my @lines = map { s/\r?\n\z/\n/r } <$fh>;
close $fh;
my $ok = $nntp->post(\@lines);
my $message = $nntp->message;
$message =~ s/\s+\z//;
print $nntp->code, " ", $message, "\n";
$nntp->quit;
exit($ok ? 0 : 1);
