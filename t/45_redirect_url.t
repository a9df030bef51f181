# The consent page's return_to (issue 12, item 7), on a server of its own:
# built the way httpd builds self-referential URLs (UseCanonicalName), from
# the request line's path and query as parsed: an absolute-form request
# target does not double the host, and under UseCanonicalName On the
# client's host name never gets in.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use IO::Socket::INET;

# (a server of its own, event MPM: run once, in the event pass)
plan tests => 8, need_apache_mpm('event');
sim_reset();

my $srv = extra_server(name => 't45', modules => ['alias'], conf => <<"EOC");
Alias /t45 "@{[serverroot()]}/htdocs"
<Location /t45>
    Require all granted
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication a0000000-0000-4000-8000-000000000001
    PingOneConsentDenyRedirect "https://consent.example.test/grant?client=portal"
</Location>
<Location /t45/canon>
    UseCanonicalName On
</Location>
<Location /t45/local>
    UseCanonicalName On
    PingOneConsentDenyRedirect /consent-needed.html
</Location>
EOC
my $port = $srv->{port};

# The Location header of a raw request (bob has no consent).
sub location_of {
    my ($target, $host) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 30) or die "connect: $!";
    print $s "GET $target HTTP/1.1\r\nHost: $host\r\nX-Test-Sub: $U{bob}\r\nConnection: close\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    my ($status) = $resp =~ m{^HTTP/1\.1 (\d+)};
    my ($loc) = $resp =~ m{^Location: ([^\r\n]*)}mi;
    return ($status // 0, $loc // '');
}
sub return_to {
    my ($loc) = @_;
    my ($v) = $loc =~ /[?&]return_to=([^&]*)/ or return '';
    $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $v;
}

my ($st, $loc) = location_of('/t45/index.html?a=1&b=%2F', "127.0.0.1:$port");
ok t_cmp($st, 302, 'bob is redirected to the consent page');
ok t_cmp(return_to($loc), "http://127.0.0.1:$port/t45/index.html?a=1&b=%2F",
         'return_to: this server and the path and query as asked');

($st, $loc) = location_of("http://127.0.0.1:$port/t45/index.html?x=1", "127.0.0.1:$port");
ok t_cmp(return_to($loc), "http://127.0.0.1:$port/t45/index.html?x=1",
         'absolute-form request target: the host is not doubled');

($st, $loc) = location_of('//t45/index.html', "127.0.0.1:$port");
ok t_cmp(return_to($loc), "http://127.0.0.1:$port/t45/index.html",
         'leading slashes: the path httpd served, not a network path');

# UseCanonicalName On: ServerName (127.0.0.1), never the client's Host.
($st, $loc) = location_of('/t45/canon/index.html', 'evil.example');
ok t_cmp(return_to($loc), qr{^http://127\.0\.0\.1(:\d+)?/t45/canon/index\.html$},
         'UseCanonicalName On: the server name, not the Host header');
($st, $loc) = location_of('http://evil.example/t45/canon/index.html', 'evil.example');
ok t_cmp(return_to($loc), qr{^http://127\.0\.0\.1(:\d+)?/t45/canon/index\.html$},
         'UseCanonicalName On, absolute-form target naming another host: the server name only');
($st, $loc) = location_of('http://evil.example/t45/local/index.html', 'evil.example');
ok t_cmp($loc, qr{^http://127\.0\.0\.1(:\d+)?/consent-needed\.html\?return_to=},
         'a local consent page: under the server name too');
ok t_cmp(return_to($loc), qr{^http://127\.0\.0\.1(:\d+)?/t45/local/index\.html$}, 'and its return_to');
$srv->{stop}->();
