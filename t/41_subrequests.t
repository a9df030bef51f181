# Every request whose own section says `PingOneConsent On` meets the check
# (issue 12, items 1 and 2), on a server of its own: subrequests made from
# an ungated page (mod_include, mod_dir's index lookup, mod_negotiation's
# variants) and internal redirects (ErrorDocument) into a gated section
# with `Require all granted` and the user from an environment variable; a
# request with no identity at all is refused, never served.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use File::Path qw(make_path);

# (a server of its own, event MPM: run once, in the event pass)
plan tests => 23, need_apache_mpm('event');
sim_reset();

my $docs = serverroot() . '/logs/t41/docs';
make_path("$docs/gated", "$docs/open", "$docs/open-dir", "$docs/neg");
sub put { my ($f, $t) = @_; open my $fh, '>', "$docs/$f" or die "$docs/$f: $!"; print $fh $t; close $fh }
put('gated/secret.txt', "TOP-SECRET-41\n");
put('open/page.shtml', "before <!--#include virtual=\"/t41/gated/secret.txt\" --> after\n");
put('open-dir/index.html', "INDEX-SECRET-41\n");
put('neg/secret.txt', "NEGOTIATED-SECRET-41\n");

my $srv = extra_server(name => 't41', modules => [qw(alias include dir negotiation)], conf => <<"EOC");
Alias /t41 "$docs"
AddType text/html .shtml
AddOutputFilter INCLUDES .shtml
<Directory "$docs">
    Options +Includes +MultiViews
    AllowOverride None
    Require all granted
</Directory>
<Location /t41>
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication a0000000-0000-4000-8000-000000000001
</Location>
<Location /t41/gated>
    PingOneConsent On
</Location>
<Location /t41/open-dir/index.html>
    PingOneConsent On
</Location>
<Directory "$docs/neg">
    <Files "secret.txt">
        PingOneConsent On
        PingOneConsentUserFrom env:OIDC_CLAIM_sub
        PingOneConsentApplication a0000000-0000-4000-8000-000000000001
    </Files>
</Directory>
<Location /t41/open>
    ErrorDocument 404 /t41/gated/secret.txt
</Location>
# An identity only the original request has (as an authentication module
# of that location would set it): the redirected request sees it renamed
# REDIRECT_OIDC_CLAIM_sub.
SetEnvIf Request_URI "^/t41/open/as-alice-" OIDC_CLAIM_sub=$U{alice}
SetEnvIf Request_URI "^/t41/open/as-frank-" OIDC_CLAIM_sub=$U{frank}
EOC

sub get { my ($path, $who) = @_; $srv->{get}->($path, defined $who ? $U{$who} : undef) }
sub body { $_[0]{content} // '' }

# mod_include: <!--#include virtual=...--> from an ungated page.
my $r = get('/t41/open/page.shtml', 'bob');
ok t_cmp($r->{status}, 200, 'include: the ungated page is served');
ok t_cmp(body($r) =~ /TOP-SECRET/ ? 1 : 0, 0, 'include: bob (revoked) does not see the gated file');
ok t_cmp(body($r), qr/an error occurred while processing this directive/, 'include: the include fails instead');
ok t_cmp($srv->{error_log}->(), qr/PC00118: subrequest for \/t41\/gated\/secret\.txt made by \/t41\/open\/page\.shtml refused \(403\)/,
         'include: the refused subrequest is logged');
$r = get('/t41/open/page.shtml', 'frank');
ok t_cmp(body($r) =~ /TOP-SECRET/ ? 1 : 0, 0, 'include: frank (no consent) does not see it');
$r = get('/t41/open/page.shtml');
ok t_cmp(body($r) =~ /TOP-SECRET/ ? 1 : 0, 0, 'include: nobody (no identity) does not see it');
$r = get('/t41/open/page.shtml', 'alice');
ok t_cmp(body($r), qr/before TOP-SECRET-41\s+after/, 'include: alice (consent) sees it');

# mod_dir: the directory is ungated, its index file is gated.
$r = get('/t41/open-dir/', 'bob');
ok t_cmp(body($r) =~ /INDEX-SECRET/ ? 1 : 0, 0, 'mod_dir: bob does not get the gated index');
ok t_cmp($r->{status}, 403, 'mod_dir: 403');
$r = get('/t41/open-dir/');
ok t_cmp([$r->{status}, body($r) =~ /INDEX-SECRET/ ? 1 : 0], [403, 0], 'mod_dir: nobody: 403');
$r = get('/t41/open-dir/', 'alice');
ok t_cmp([$r->{status}, body($r)], [200, qr/INDEX-SECRET-41/], 'mod_dir: alice gets it');

# mod_negotiation (MultiViews): /neg/secret picks the gated secret.txt.
$r = get('/t41/neg/secret', 'bob');
ok t_cmp(body($r) =~ /NEGOTIATED-SECRET/ ? 1 : 0, 0, "mod_negotiation: bob does not get the gated variant ($r->{status})");
$r = get('/t41/neg/secret');
ok t_cmp(body($r) =~ /NEGOTIATED-SECRET/ ? 1 : 0, 0, "mod_negotiation: nobody does not get it ($r->{status})");
$r = get('/t41/neg/secret', 'alice');
ok t_cmp([$r->{status}, body($r)], [200, qr/NEGOTIATED-SECRET-41/], 'mod_negotiation: alice gets it');

# An internal redirect (ErrorDocument) into the gated section: the user
# comes from the variables of the request it replaced.
$r = get('/t41/open/missing.html', 'bob');
ok t_cmp(body($r) =~ /TOP-SECRET/ ? 1 : 0, 0, "internal redirect: bob does not get the gated file ($r->{status})");
$r = get('/t41/open/missing.html');
ok t_cmp(body($r) =~ /TOP-SECRET/ ? 1 : 0, 0, "internal redirect: nobody does not get it ($r->{status})");
$r = get('/t41/open/missing.html', 'alice');
ok t_cmp([$r->{status}, body($r)], [404, qr/TOP-SECRET-41/], 'internal redirect: alice gets it (404 with the document)');

$r = get('/t41/open/as-alice-missing.html');
ok t_cmp([$r->{status}, body($r)], [404, qr/TOP-SECRET-41/],
         'internal redirect: the identity of the request it replaced counts (alice)');
$r = get('/t41/open/as-frank-missing.html');
ok t_cmp(body($r) =~ /TOP-SECRET/ ? 1 : 0, 0, "internal redirect: the identity of the request it replaced counts (frank: $r->{status})");

# Item 2: no identity at all, asked directly.
$r = get('/t41/gated/secret.txt');
ok t_cmp([$r->{status}, body($r) =~ /TOP-SECRET/ ? 1 : 0], [403, 0], 'no identity: 403, never served');
ok t_cmp($srv->{error_log}->(), qr/PC00117: \/t41\/gated\/secret\.txt has no identity \(OIDC_CLAIM_sub\)/, 'logged (PC00117)');
$r = get('/t41/gated/secret.txt', 'alice');
ok t_cmp([$r->{status}, body($r)], [200, qr/TOP-SECRET-41/], 'alice asks directly: 200');
$r = get('/t41/gated/secret.txt', 'bob');
ok t_cmp($r->{status}, 403, 'bob asks directly: 403');
$srv->{stop}->();
