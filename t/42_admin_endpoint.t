# Who can drive the handlers (issue 12, items 3 and 4), on a server of its
# own.  The admin endpoint answers only requests that name this server in
# Host (no DNS rebinding) and do not come from another site; a POST needs
# the header X-PingOne-Consent-Admin: 1 and a form body (what curl sends
# with -H and -d; what no cross-site page can send without a CORS
# preflight).  The handlers run only where a SetHandler of the server
# configuration mounted them: not from a .htaccess (SetHandler, AddHandler),
# not in a subrequest.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use IO::Socket::INET;
use File::Path qw(make_path);

# (a server of its own, event MPM: run once, in the event pass)
plan tests => 28, need_apache_mpm('event');
sim_reset();

my $base = serverroot() . '/logs/t42';
make_path("$base/site", "$base/site2", "$base/hook", "$base/mounted", "$base/page");
sub put { my ($f, $t) = @_; open my $fh, '>', "$base/$f" or die "$base/$f: $!"; print $fh $t; close $fh }
# What a site owner with AllowOverride FileInfo AuthConfig could write.
put('site/.htaccess', "SetHandler pingone-consent-admin\nRequire all granted\n");
put('site/x.html', "x\n");
put('site2/.htaccess', "AddHandler pingone-consent-admin .adm\nRequire all granted\n");
put('site2/x.adm', "x\n");
put('hook/.htaccess', "SetHandler pingone-consent-webhook\n");
put('hook/x.html', "x\n");
# A mount by the server configuration, in a directory that also has a
# .htaccess (of its own business).
put('mounted/.htaccess', "AddType text/plain .txt\n");
put('mounted/x.html', "x\n");
put('page/include.shtml', "before <!--#include virtual=\"/pingone/admin\" --> after\n");

my $hook_auth = 'Bearer t42-hook-secret-0123456789';
use IO::Socket::INET;
my $vport = do { my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0); $s->sockport };
my $srv = extra_server(name => 't42', modules => [qw(alias authz_host include)], conf => <<"EOC");
# (a virtual host: ServerAlias lives there; the sections below apply to it)
Listen 127.0.0.1:$vport
<VirtualHost 127.0.0.1:$vport>
    ServerName 127.0.0.1
    ServerAlias pc-alias.test
</VirtualHost>
Alias /t42 "$base"
AddType text/html .shtml
AddOutputFilter INCLUDES .shtml
<Directory "$base">
    AllowOverride FileInfo AuthConfig
    Options +Includes
    Require all granted
</Directory>
<Directory "$base/hook">
    PingOneWebhookAuthorization "$hook_auth"
</Directory>
<Directory "$base/mounted">
    SetHandler pingone-consent-admin
    Require ip 127.0.0.1
</Directory>
<Location /pingone/admin>
    SetHandler pingone-consent-admin
    Require ip 127.0.0.1
    PingOneAdminHosts admin.example.test *.ops.example.test
</Location>
# The endpoint in a tree the consent gates: it keeps its own access control.
<Location /gated>
    Require all granted
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication a0000000-0000-4000-8000-000000000001
</Location>
<Location /gated/admin>
    SetHandler pingone-consent-admin
    Require ip 127.0.0.1
</Location>
EOC
my $port = $vport;

# A raw request: (status, body).
sub raw {
    my ($method, $path, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 30) or die "connect: $!";
    my $body = $o{body} // '';
    my %h = (Host => "127.0.0.1:$port", %{ $o{headers} || {} });
    $h{'Content-Length'} = length $body if $method eq 'POST';
    print $s "$method $path HTTP/1.1\r\n", (map { "$_: $h{$_}\r\n" } sort keys %h),
             "Connection: close\r\n\r\n", $body;
    local $/;
    my $resp = <$s> // '';
    my ($status) = $resp =~ m{^HTTP/1\.1 (\d+)};
    my ($content) = $resp =~ m{\r\n\r\n(.*)\z}s;
    return ($status // 0, $content // '');
}
my %form = ('Content-Type' => 'application/x-www-form-urlencoded');
my %admin = (%form, 'X-PingOne-Consent-Admin' => '1');
sub status_of { (raw(@_))[0] }

# ---- item 3: the documented form, and what is refused --------------------
ok t_cmp(status_of('GET', '/pingone/admin'), 200, 'GET status with Host 127.0.0.1');
ok t_cmp(status_of('POST', '/pingone/admin', headers => \%admin, body => 'action=purge-all'), 200,
         'POST in the documented form (header and form body): 200');
ok t_cmp($srv->{admin}->('/pingone/admin', {action => 'purge-all'})->{status}, 200, 'PCTest::admin_post sends it');
my $lm = length $srv->{error_log}->();
ok t_cmp(status_of('POST', '/pingone/admin', headers => \%form, body => 'action=purge-all'), 403,
         'a plain form POST without X-PingOne-Consent-Admin (curl -d): 403');
ok t_cmp(substr($srv->{error_log}->(), $lm), qr/PC00218: admin request POST \/pingone\/admin from 127\.0\.0\.1 refused \(403\)/,
         'logged (PC00218)');
ok t_cmp(status_of('POST', '/pingone/admin', headers => {%admin, 'Origin' => 'http://evil.example',
                                                        'Sec-Fetch-Site' => 'cross-site'},
                   body => 'action=purge-all'), 403,
         'a cross-site POST (Origin, Sec-Fetch-Site), even with the header: 403');
ok t_cmp(status_of('POST', '/pingone/admin', headers => {%admin, 'Origin' => 'http://evil.example'},
                   body => 'action=purge-all'), 403, 'Origin of another site alone: 403');
ok t_cmp(status_of('POST', '/pingone/admin', headers => {%admin, 'Origin' => 'null'},
                   body => 'action=purge-all'), 403, 'Origin: null: 403');
ok t_cmp(status_of('POST', '/pingone/admin', headers => {%admin, 'Sec-Fetch-Site' => 'same-site'},
                   body => 'action=purge-all'), 403, 'Sec-Fetch-Site: same-site (another host of the site): 403');
ok t_cmp(status_of('GET', '/pingone/admin', headers => {'Sec-Fetch-Site' => 'cross-site'}), 403,
         'a cross-site GET: 403');
ok t_cmp(status_of('POST', '/pingone/admin', headers => {%admin, 'Origin' => "http://127.0.0.1:$port",
                                                        'Sec-Fetch-Site' => 'same-origin'},
                   body => 'action=purge-all'), 200, 'same origin, with the header: 200');
ok t_cmp(status_of('POST', '/pingone/admin', headers => {%admin, 'Content-Type' => 'text/plain'},
                   body => 'action=purge-all'), 415, 'another body type: 415');
ok t_cmp(status_of('POST', '/pingone/admin?action=purge-all', headers => \%admin), 400,
         'fields in the query string only: 400');

# Host: this server's names, the listed ones, localhost and IP addresses.
ok t_cmp(status_of('GET', '/pingone/admin', headers => {Host => 'rebind.attacker.example'}), 403,
         'Host naming another site (DNS rebinding): 403');
ok t_cmp(status_of('POST', '/pingone/admin', headers => {%admin, Host => "rebind.attacker.example:$port"},
                   body => 'action=purge-all'), 403, 'also for a POST in the documented form');
ok t_cmp(status_of('GET', '/pingone/admin', headers => {Host => "localhost:$port"}), 200, 'Host localhost: 200');
ok t_cmp(status_of('GET', '/pingone/admin', headers => {Host => 'pc-alias.test'}), 200, 'Host from ServerAlias: 200');
ok t_cmp(status_of('GET', '/pingone/admin', headers => {Host => 'Admin.Example.Test'}), 200,
         'Host listed by PingOneAdminHosts (any case): 200');
ok t_cmp(status_of('GET', '/pingone/admin', headers => {Host => 'db1.ops.example.test'}), 200,
         'Host matching a PingOneAdminHosts pattern: 200');

# ---- item 4: only the server configuration mounts the handlers -----------
$lm = length $srv->{error_log}->();
ok t_cmp(status_of('GET', '/t42/site/x.html'), 403, '.htaccess SetHandler pingone-consent-admin: 403');
ok t_cmp(status_of('POST', '/t42/site/x.html', headers => \%admin, body => 'action=purge-all'), 403,
         '... and a purge through it: 403');
ok t_cmp(substr($srv->{error_log}->(), $lm), qr/PC00220: pingone-consent-admin for \/t42\/site\/x\.html is not mounted by a SetHandler of the server configuration/,
         'logged (PC00220)');
ok t_cmp(status_of('GET', '/t42/site2/x.adm'), 403, '.htaccess AddHandler pingone-consent-admin: 403');
ok t_cmp(status_of('POST', '/t42/hook/x.html', headers => {'Content-Type' => 'application/json', Authorization => $hook_auth},
                   body => '[]'), 403, '.htaccess SetHandler pingone-consent-webhook: 403');
ok t_cmp(status_of('GET', '/t42/mounted/x.html'), 200,
         'a SetHandler of the server configuration in a directory with a .htaccess: still 200');
ok t_cmp(status_of('GET', '/gated/admin'), 200,
         'mounted below a section with PingOneConsent On: the endpoint is not gated (no identity needed)');
ok t_cmp(status_of('GET', '/gated/index.html'), 403, 'while the rest of that section is');
my ($st, $page) = raw('GET', '/t42/page/include.shtml');
ok t_cmp($page =~ /counters/ ? 1 : 0, 0, "a subrequest (#include virtual) does not run it ($st)");
$srv->{stop}->();
