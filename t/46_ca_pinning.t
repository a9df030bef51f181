# PingOneCACertificateFile is the only trust anchor when set (issue 12,
# item 8).  Debian's libcurl also reads the CA directory it was built with
# (/etc/ssl/certs), so the test makes the HTTPS simulator's self-signed
# certificate trusted there - for one web server only: it runs in a user
# and mount namespace where a scratch directory (a CA file, plus the
# simulator's certificate under its hash name) is mounted over
# /etc/ssl/certs.  Without the directive that server trusts the simulator
# (the setup works); with the directive naming another CA (the one in the
# scratch CA file) it must refuse it; with the directive naming the
# simulator's certificate it trusts it.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use File::Copy qw(copy);
use Time::HiRes qw(sleep);

my $ns = !system('unshare -Urm sh -c "mount --bind /tmp /mnt && exec unshare --user --map-user=4242 --map-group=4242 true" >/dev/null 2>&1');
# (a server of its own, event MPM: run once, in the event pass)
plan tests => 6, need need_apache_mpm('event'), { 'unprivileged user and mount namespaces (unshare -Urm)' => $ns,
                        'the HTTPS simulator (PC_TLS_CA)' => ($ENV{PC_TLS_CA} && -s $ENV{PC_TLS_CA}) };

my $dir = serverroot() . '/logs/t46';
my $certs = "$dir/sslcerts";
mkdir $dir;
mkdir $certs;
system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
       . "-subj /CN=t46-other-ca -keyout $dir/other-ca.key -out $dir/other-ca.pem >/dev/null 2>&1") == 0
    or die "cannot make the other CA\n";
# libcurl's built-in CA file must exist there; it holds only the other CA,
# so the simulator is trusted through the CA directory alone.
copy("$dir/other-ca.pem", "$certs/ca-certificates.crt") or die "copy: $!";
chomp(my $hash = `openssl x509 -hash -noout -in $ENV{PC_TLS_CA}`);
die "openssl x509 -hash failed\n" unless $hash =~ /^[0-9a-f]{8}$/;
copy($ENV{PC_TLS_CA}, "$certs/$hash.0") or die "copy: $!";

my $tls = $ENV{PC_SIM_TLS_PORT};
my %ca = (none => '', other => "PingOneCACertificateFile $dir/other-ca.pem",
          sim => "PingOneCACertificateFile $ENV{PC_TLS_CA}");
my $srv = extra_server(
    name => 't46',
    launch => ['unshare', '-Urm', 'sh', '-c',
               'mount --bind "$0" /etc/ssl/certs && exec unshare --user --map-user=4242 --map-group=4242 "$@"',
               $certs],
    conf => <<"EOC");
PingOneAPIBaseURL https://127.0.0.1:$tls/v1
PingOneAuthBaseURL https://127.0.0.1:$tls
PingOneConsentCacheTTL 0 0
PingOneTimeout 10000 5000
#CA
<Location />
    Require all granted
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication a0000000-0000-4000-8000-000000000001
</Location>
EOC

# Rewrite the CA line and restart gracefully (new PingOne clients).
my $conf = "$srv->{dir}/httpd.conf";
my $text = do { local (@ARGV, $/) = $conf; <> };
sub trust {
    my ($which) = @_;
    open my $fh, '>', $conf or die "$conf: $!";
    (my $t = $text) =~ s/^#CA$/$ca{$which}/m;
    print $fh $t;
    close $fh;
    my $gens = () = $srv->{error_log}->() =~ /resuming normal operations/g;
    open my $pf, '<', "$srv->{dir}/httpd.pid" or die "pid: $!";
    chomp(my $pid = <$pf>);
    kill 'USR1', $pid;
    for (1 .. 200) {
        my $now = () = $srv->{error_log}->() =~ /resuming normal operations/g;
        last if $now > $gens;
        sleep 0.05;
    }
}
sub alice { $srv->{get}->('/index.html', $U{alice})->{status} }

ok t_cmp(alice(), 200, 'no PingOneCACertificateFile: the system store (here: trusting the simulator) verifies it');

trust('other');
ok t_cmp(alice(), 503, 'PingOneCACertificateFile naming another CA: the simulator is refused although the system store trusts it');
ok t_cmp($srv->{error_log}->(), qr/PC00111: .*(?i:certificate)/, 'logged as a certificate problem');

trust('sim');
ok t_cmp(alice(), 200, "PingOneCACertificateFile naming the simulator's certificate: trusted");

trust('other');
ok t_cmp(alice(), 503, 'another CA again: refused');
trust('none');
ok t_cmp(alice(), 200, 'and the system store again: trusted');
$srv->{stop}->();
