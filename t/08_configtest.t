# Config mistakes fail `httpd -t` (apachectl configtest) with a message
# naming the directive; the annotated example config passes.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

my $ENV_ID = 'abcdef01-2345-4678-9abc-def012345678';
my $APP = $PCTest::APP1;
my $server = <<"EOC";
PingOneEnvironmentID $ENV_ID
PingOneClientID c0ffee00-1111-4222-8333-444455556666
PingOneClientSecret some-secret
EOC
my $loc = <<"EOC";
<Location /app>
    PingOneConsent On
    PingOneConsentApplication $APP
</Location>
EOC

# name, config body, expected exit (0 ok / 1 fail), pattern in the output
my @cases = (
    ['valid minimal config', $server . $loc, 0, qr/Syntax OK/],
    ['missing environment', "PingOneClientID c\nPingOneClientSecret s\n$loc", 1,
        qr/PingOneEnvironmentID: not set/],
    ['missing client secret', "PingOneEnvironmentID $ENV_ID\nPingOneClientID c\n$loc", 1,
        qr/PingOneClientSecret: not set/],
    ['missing client ID', "PingOneEnvironmentID $ENV_ID\nPingOneClientSecret s\n$loc", 1,
        qr/PingOneClientID: not set/],
    ['environment not a UUID', "PingOneEnvironmentID prod\n", 1, qr/PingOneEnvironmentID: .*UUID/],
    ['environment in a Location', "<Location /x>\nPingOneEnvironmentID $ENV_ID\n</Location>\n", 1,
        qr/PingOneEnvironmentID.*not allowed/i],
    ['both application forms', $server . "<Location /app>\nPingOneConsent On\nPingOneConsentApplication $APP\nPingOneConsentApplicationName Portal\n</Location>\n", 1,
        qr/PingOneConsentApplicationName: .*mutually exclusive/],
    ['application ID not a UUID', $server . "<Location /app>\nPingOneConsentApplication portal\n</Location>\n", 1,
        qr/PingOneConsentApplication: .*UUID/],
    ['no application for a checked location', $server . "<Location /app>\nPingOneConsent On\n</Location>\n", 1,
        qr/PingOneConsentApplication: .*neither PingOneConsentApplication nor PingOneConsentApplicationName/],
    ['no application for Require', $server . "<Location /app>\nRequire pingone-consent openid\n</Location>\n", 1,
        qr/PingOneConsentApplication: .*section '\/app'/],
    ['unreadable secret file', "PingOneClientSecret file:/nonexistent/pingone.secret\n", 1,
        qr/PingOneClientSecret: cannot read secret file '\/nonexistent\/pingone.secret'/],
    ['unset secret variable', "PingOneClientSecret env:PC_NO_SUCH_VARIABLE\n", 1,
        qr/PingOneClientSecret: environment variable 'PC_NO_SUCH_VARIABLE' is not set/],
    ['bad region', "PingOneRegion MARS\n", 1, qr/PingOneRegion: unknown region 'MARS'/],
    ['API URL not http(s)', "PingOneAPIBaseURL ftp://api.pingone.com/v1\n", 1, qr/PingOneAPIBaseURL: .*not an http\(s\):\/\/ URL/],
    ['auth URL with a query', "PingOneAuthBaseURL https://auth.pingone.com/?x=1\n", 1, qr/PingOneAuthBaseURL: URL must not contain a query/],
    ['URL with user info', "PingOneAPIBaseURL https://user:pw\@api.pingone.com/v1\n", 1, qr/PingOneAPIBaseURL: URL must not contain user information/],
    ['timeout zero', "PingOneTimeout 0\n", 1, qr/PingOneTimeout: total timeout '0'/],
    ['connect over total', "PingOneTimeout 1000 2000\n", 1, qr/PingOneTimeout: connect timeout must not exceed/],
    ['bad auth method', "PingOneClientAuthMethod jwt\n", 1, qr/PingOneClientAuthMethod: must be 'basic' or 'post'/],
    ['bad CA file', "PingOneCACertificateFile /nonexistent/ca.pem\n", 1, qr/PingOneCACertificateFile: '\/nonexistent\/ca.pem' is not a readable file/],
    ['bad SSLVerify', "PingOneSSLVerify maybe\n", 1, qr/PingOneSSLVerify/],
    ['bad response cap', "PingOneMaxResponseSize 10\n", 1, qr/PingOneMaxResponseSize: must be/],
    ['bad scope', "<Location /x>\nPingOneConsentScopes 'a\"b'\n</Location>\n", 1, qr/PingOneConsentScopes: .*not a valid OAuth scope/],
    ['bad Require scope', "<Location /x>\nRequire pingone-consent 'a\\\\b'\n</Location>\n", 1, qr/Require pingone-consent: .*not a valid OAuth scope/],
    ['bad UserFrom', "<Location /x>\nPingOneConsentUserFrom HTTP_X_USER\n</Location>\n", 1, qr/PingOneConsentUserFrom: .*REMOTE_USER or env:NAME/],
    ['bad UserIs', "<Location /x>\nPingOneConsentUserIs email\n</Location>\n", 1, qr/PingOneConsentUserIs: must be 'id' or 'username'/],
    ['bad DenyRedirect', "<Location /x>\nPingOneConsentDenyRedirect javascript:alert(1)\n</Location>\n", 1, qr/PingOneConsentDenyRedirect: must be an absolute/],
    ['bad PingOneConsent flag', "<Location /x>\nPingOneConsent yes\n</Location>\n", 1, qr/PingOneConsent /],
    ['SSLVerify Off warns', $server . "PingOneSSLVerify Off\n" . $loc, 0, qr/PC00002: PingOneSSLVerify Off/],
    ['FailMode open warns', $server . "PingOneConsentFailMode open\n" . $loc, 0, qr/PC00005: PingOneConsentFailMode open/],
    ['bad FailMode', "PingOneConsentFailMode sometimes\n", 1, qr/PingOneConsentFailMode: must be 'closed'/],
    ['bad cache TTL', "PingOneConsentCacheTTL 60 -1\n", 1, qr/PingOneConsentCacheTTL: expects/],
    ['bad stale window', "PingOneConsentStaleIfError soon\n", 1, qr/PingOneConsentStaleIfError: expects seconds/],
    ['cache in a virtual host', "<VirtualHost 127.0.0.1:1>\nPingOneConsentCache shmcb\n</VirtualHost>\n", 1, qr/PingOneConsentCache.*(?i:cannot occur within|not allowed)/],
    ['unknown cache provider', $server . "PingOneConsentCache nosuch:x\n" . $loc, 1, qr/PingOneConsentCache: unknown cache provider 'nosuch'/],
    # The default cache is the module's own: nothing else to load (a stock
    # Debian config with LoadModule alone passes); a farm provider named
    # but not loaded fails, naming the module to load.
    ['default cache, no socache module', $server . $loc, 0, qr/Syntax OK/, 'no-shmcb'],
    ['memcache not loaded', $server . "PingOneConsentCache memcache:127.0.0.1:1\n" . $loc, 1, qr/PingOneConsentCache: unknown cache provider 'memcache' \(load mod_socache_memcache\?\)/, 'no-shmcb'],
    ['legacy shmcb without the module', $server . "PingOneConsentCache \"shmcb:/tmp/x(1048576)\"\n" . $loc, 0, qr/Syntax OK/, 'no-shmcb'],
    ['bad cache size', "PingOneConsentCacheSize 10\n", 1, qr/PingOneConsentCacheSize: expects a number of decisions, 16\.\.16777216/],
    ['cache size in a virtual host', "<VirtualHost 127.0.0.1:1>\nPingOneConsentCacheSize 1000\n</VirtualHost>\n", 1, qr/PingOneConsentCacheSize.*(?i:cannot occur within|not allowed)/],
    ['bad rate limit', "PingOneRateLimit fast\n", 1, qr/PingOneRateLimit: expects <calls-per-second> \[burst\]/],
    ['rate limit Off', $server . "PingOneRateLimit Off\n" . $loc, 0, qr/Syntax OK/],
    ['rate limit in a virtual host', "<VirtualHost 127.0.0.1:1>\nPingOneRateLimit 10\n</VirtualHost>\n", 1, qr/PingOneRateLimit.*(?i:cannot occur within|not allowed)/],
    ['activity feed', $server . "PingOneActivityPoll 2\nPingOneRevocationEvents OAUTH_CONSENT.REVOKED USER.DELETED\nPingOneConsentFeedTTL Off\n" . $loc, 0, qr/Syntax OK/],
    ['poll interval 0', "PingOneActivityPoll 0\n", 1, qr/PingOneActivityPoll: expects seconds between polls, 1\.\.3600, or Off/],
    ['poll in a virtual host', "<VirtualHost 127.0.0.1:1>\nPingOneActivityPoll 5\n</VirtualHost>\n", 1, qr/PingOneActivityPoll.*(?i:cannot occur within|not allowed)/],
    ['bad revocation type', "PingOneRevocationEvents OAUTH_CONSENT.REVOKED user.deleted\n", 1, qr/PingOneRevocationEvents: 'user\.deleted': an action type holds other characters/],
    ['bad feed TTL', "PingOneConsentFeedTTL forever\n", 1, qr/PingOneConsentFeedTTL: expects seconds, 0\.\.86400, or Off/],
);

plan tests => 2 * @cases + 2;

my $httpd = Apache::Test::vars('httpd');
my $moddir = $ENV{PC_MODDIR} or die "PC_MODDIR not set\n";
my $module = $ENV{PC_MODULE} or die "PC_MODULE not set\n";
my $dir = serverroot() . '/logs';

sub configtest {
    my ($body, $no_shmcb) = @_;
    my $shmcb = $no_shmcb ? '' : "LoadModule socache_shmcb_module $moddir/mod_socache_shmcb.so";
    my $file = "$dir/configtest.conf";
    open my $fh, '>', $file or die "$file: $!";
    print $fh <<"EOC";
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:1
PidFile "$dir/configtest.pid"
ErrorLog "$dir/configtest_error_log"
LoadModule mpm_prefork_module $moddir/mod_mpm_prefork.so
LoadModule authz_core_module $moddir/mod_authz_core.so
LoadModule authn_core_module $moddir/mod_authn_core.so
LoadModule authn_file_module $moddir/mod_authn_file.so
LoadModule auth_basic_module $moddir/mod_auth_basic.so
LoadModule authz_user_module $moddir/mod_authz_user.so
LoadModule authz_host_module $moddir/mod_authz_host.so
$shmcb
LoadModule pingone_consent_module $module
$body
EOC
    close $fh;
    my $out = `'$httpd' -t -f '$file' 2>&1`;
    return ($? >> 8, $out);
}

for my $c (@cases) {
    my ($name, $body, $want, $re, $no_shmcb) = @$c;
    my ($rc, $out) = configtest($body, $no_shmcb);
    ok t_cmp($rc ? 1 : 0, $want, "$name: " . ($want ? 'configtest fails' : 'configtest passes'));
    ok t_cmp($out, $re, "$name: message");
}

# The annotated example shipped in conf/ passes configtest.
my $example = "$FindBin::Bin/../conf/pingone_consent.conf";
local $ENV{PINGONE_CLIENT_SECRET} = 'example-secret';
my ($rc, $out) = configtest("Include $example\n");
ok t_cmp($rc, 0, 'conf/pingone_consent.conf passes configtest');
ok t_cmp($out, qr/Syntax OK/, 'Syntax OK') or diag $out;
