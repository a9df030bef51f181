package PCTest;
# Helpers for the mod_pingone_consent Apache::Test suite: requests with
# Basic auth, the PingOne simulator's control API, and the logs.
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(sleep);
use Apache::Test ();
use Apache::TestRequest ();

our @EXPORT = qw(%U req sim sim_reset counts decision_mark decision_since
                 log_mark log_since sim_port sim_fault serverroot
                 concurrently slow_lookup sim_tls extra_server admin_post
                 gated_location);

# PingOne user IDs of the seeded users (t/sim/seed.json).
our %U = (
    alice => 'e0000000-0000-4000-8000-00000000a11c',
    bob   => 'e0000000-0000-4000-8000-0000000000b0',
    carol => 'e0000000-0000-4000-8000-0000000000ca',
    dave  => 'e0000000-0000-4000-8000-0000000000da',
    erin  => 'e0000000-0000-4000-8000-0000000000e0',
    frank => 'e0000000-0000-4000-8000-0000000000f0',
    grace => 'e0000000-0000-4000-8000-000000000009',
    smith => 'e0000000-0000-4000-8000-0000000000a2',
    ghost => 'e0000000-0000-4000-8000-00000000dead',   # valid, unknown
);
our $APP1 = 'a0000000-0000-4000-8000-000000000001';
our $APP2 = 'a0000000-0000-4000-8000-000000000002';

my $json = JSON::PP->new->utf8->canonical;

# How to recognise the decision-log line of the last request made with
# req(): by its user (the previous request's line may still be on its way
# from another process).
our $last_match = qr/^- /;
my $nonce = 0;

sub serverroot { Apache::Test::vars('serverroot') }

# Run $code in $n child processes that start their requests together: each
# child blocks on a pipe until every child exists, so on a slow or busy
# machine no request is late enough to miss what the others are sharing
# (a single-flight lookup, a token fetch). $code returns true on success.
# Returns how many children failed.
sub concurrently {
    my ($n, $code) = @_;
    pipe(my $rd, my $wr) or die "pipe: $!";
    my @pids;
    for my $i (1 .. $n) {
        my $pid = fork();
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            close $wr;
            my $buf;
            sysread($rd, $buf, 1);        # EOF once the parent closes its end
            require POSIX;
            POSIX::_exit($code->($i) ? 0 : 1);
        }
        push @pids, $pid;
    }
    close $rd;
    close $wr;                            # go
    my $fails = 0;
    for (@pids) { waitpid($_, 0); $fails++ if $? }
    return $fails;
}

# Run $code in a child while the simulator holds its next consent answer
# $ms on the way back (the answer is made when the call arrives, so it
# predates anything done meanwhile).  Returns the child's pid once that
# call has reached the simulator (counts must have been reset before);
# the child exits 0 when $code returns true.
sub slow_lookup {
    my ($ms, $code) = @_;
    sim_fault(endpoint => 'consents', type => 'latency', latency_ms => $ms,
              after => JSON::PP::true, count => 1);
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        require POSIX;
        POSIX::_exit($code->() ? 0 : 1);
    }
    for (1 .. 100) { last if (counts()->{consents} || 0) >= 1; sleep 0.02 }
    return $pid;
}

# A web server of its own (for what needs a main-server setting of its own,
# or several servers): its httpd.conf is a common head (event MPM unless
# mpm => ..., the module, the simulator's PingOne settings, users from the
# X-Test-Sub header) plus $o{conf}.  Returns a hash: port, dir, get(path,
# sub), admin(path, form), stop(), error_log().
sub extra_server {
    my (%o) = @_;
    require IO::Socket::INET;
    my $name = $o{name} || 'extra';
    my $dir = serverroot() . "/logs/$name";
    mkdir $dir;
    my $port = do { my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0); $s->sockport };
    my $moddir = $ENV{PC_MODDIR} or die "PC_MODDIR is not set\n";
    my $mpm = $o{mpm} || 'event';
    my $sim = sim_port();
    my $mods = join '', map { "LoadModule ${_}_module $moddir/mod_$_.so\n" }
        qw(authz_core mime setenvif headers), @{ $o{modules} || [] };
    open my $fh, '>', "$dir/httpd.conf" or die "$dir/httpd.conf: $!";
    print $fh <<"EOC";
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LogLevel info pingone_consent:debug
LoadModule mpm_${mpm}_module $moddir/mod_mpm_${mpm}.so
$mods
LoadModule pingone_consent_module $ENV{PC_MODULE}
TypesConfig /etc/mime.types
DocumentRoot "@{[serverroot()]}/htdocs"
PingOneEnvironmentID abcdef01-2345-4678-9abc-def012345678
PingOneAPIBaseURL http://127.0.0.1:$sim/v1
PingOneAuthBaseURL http://127.0.0.1:$sim
PingOneClientID c0ffee00-1111-4222-8333-444455556666
PingOneClientSecret s3cr3t-worker-secret
SetEnvIf X-Test-Sub "^(.+)\$" OIDC_CLAIM_sub=\$1
$o{conf}
EOC
    close $fh;
    my $httpd = Apache::Test::vars('httpd');
    # launch => [...]: a command that runs the rest (e.g. in a namespace)
    system(@{ $o{launch} || [] }, $httpd, '-f', "$dir/httpd.conf", '-k', 'start') == 0
        or die "$name: httpd did not start\n";
    my $http = HTTP::Tiny->new(timeout => 30, max_redirect => 0);
    my %srv = (port => $port, dir => $dir);
    $srv{get} = sub {
        my ($path, $sub, %h) = @_;
        $h{'X-Test-Sub'} = $sub if defined $sub;
        return $http->get("http://127.0.0.1:$port$path", {headers => \%h});
    };
    $srv{post_form} = sub { $http->post_form("http://127.0.0.1:$port$_[0]", $_[1]) };
    $srv{admin} = sub { admin_post("http://127.0.0.1:$port$_[0]", $_[1]) };
    $srv{stop} = sub {
        system($httpd, '-f', "$dir/httpd.conf", '-k', 'stop');
        for (1 .. 100) { last unless -e "$dir/httpd.pid"; sleep 0.05 }
    };
    $srv{error_log} = sub {
        open my $lf, '<', "$dir/error_log" or return '';
        local $/; my $t = <$lf>; return $t // '';
    };
    for (1 .. 200) { last if $srv{get}->('/')->{status} != 599; sleep 0.05 }
    return \%srv;
}

# A POST to the admin endpoint in the form docs/operations.md documents: the
# fields in an application/x-www-form-urlencoded body and the header
# X-PingOne-Consent-Admin: 1 (which no cross-site page can send).
sub admin_post {
    my ($url, $form, %h) = @_;
    return HTTP::Tiny->new(timeout => 60)->post_form(
        $url, $form, {headers => {'X-PingOne-Consent-Admin' => '1', %h}});
}

# The gated location the extra servers' tests ask: PingOneConsent On for the
# user in OIDC_CLAIM_sub (the X-Sub header), with where the answer came from
# in X-PC-Source.  Without a final newline: the heredoc that interpolates
# it keeps its own.
sub gated_location {
    my ($path, $app) = @_;
    return join '', "<Location $path>\n", map({ "    $_\n" }
        'Require all granted', 'PingOneConsent On',
        'PingOneConsentUserFrom env:OIDC_CLAIM_sub',
        "PingOneConsentApplication $app",
        'Header always set X-PC-Source "%{PINGONE_CONSENT_SOURCE}e"'),
        "</Location>";
}

sub sim_port {
    my $p = $ENV{PC_SIM_PORT} or die "PC_SIM_PORT is not set\n";
    return $p;
}

# sim(METHOD, '/__control/...', \%body) -> decoded JSON (or undef)
sub sim {
    return _control(HTTP::Tiny->new(timeout => 10),
                    'http://127.0.0.1:' . sim_port(), @_);
}

# The same against the HTTPS simulator (its own state and counters):
# PC_SIM_TLS_PORT, its certificate verified with PC_TLS_CA.
sub sim_tls {
    my $port = $ENV{PC_SIM_TLS_PORT} or die "PC_SIM_TLS_PORT is not set\n";
    my $http = HTTP::Tiny->new(timeout => 10, verify_SSL => 1,
                               SSL_options => {SSL_ca_file => $ENV{PC_TLS_CA}});
    return _control($http, "https://127.0.0.1:$port", @_);
}

sub _control {
    my ($http, $base, $method, $path, $body) = @_;
    my %opt;
    if ($body) {
        $opt{content} = $json->encode($body);
        $opt{headers} = {'Content-Type' => 'application/json'};
    }
    my $r = $http->request($method, $base . $path, \%opt);
    die "simulator $method $path: $r->{status} $r->{content}\n"
        unless $r->{status} =~ /^2/;
    return length $r->{content} ? $json->decode($r->{content}) : undef;
}

sub sim_reset { sim(POST => '/__control/reset') }
sub counts { sim(GET => '/__control/counts') }
sub sim_fault { sim(POST => '/__control/faults', {@_}) }

# req(PATH, user => NAME_OR_ID, pass => 'pw', vhost => 'pc_post',
#     headers => {...}, method => 'GET') -> HTTP::Tiny response
# A fresh connection per call unless keepalive => $http is given.
sub req {
    my ($path, %o) = @_;
    Apache::TestRequest::module($o{vhost} || 'default');
    my $hostport = Apache::TestRequest::hostport();
    Apache::TestRequest::module('default');
    my %h = %{ $o{headers} || {} };
    if (defined $o{user}) {
        my $pass = defined $o{pass} ? $o{pass} : 'pw';
        $h{Authorization} = 'Basic ' . encode_base64("$o{user}:$pass", '');
    }
    # A nonce in a header the decision log records: the line of this
    # request, not a late line of the previous one from another process.
    $h{'X-PC-Nonce'} = ++$nonce . "-$$";
    $last_match = qr/ nonce=\Q$h{'X-PC-Nonce'}\E$/;
    my $http = $o{http} || HTTP::Tiny->new(max_redirect => 0, timeout => 30,
                                            keep_alive => 0);
    return $http->request($o{method} || 'GET', "http://$hostport$path",
                          {headers => \%h});
}

# The decision log (LogFormat "%u %>s %{pingone-consent}n %U ... nonce=N") is written
# after the response is sent: wait for the line.
sub _lines {
    my $f = serverroot() . '/logs/decision_log';
    open my $fh, '<', $f or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}
sub decision_mark { scalar(my @l = _lines()) }
sub decision_since {
    my ($mark) = @_;
    for (1 .. 100) {
        my @l = _lines();
        my @mine = grep { $_ =~ $last_match } @l[$mark .. $#l];
        return @mine if @mine;
        sleep 0.05;
    }
    return ();
}

sub _errlog { serverroot() . '/logs/error_log' }
sub log_mark { -s _errlog() || 0 }
# Text appended to error_log since the mark, once it contains $want (a
# regex) or after 5 s.
sub log_since {
    my ($mark, $want) = @_;
    my $text = '';
    for (1 .. 100) {
        open my $fh, '<', _errlog() or return '';
        seek $fh, $mark, 0;
        local $/;
        $text = <$fh> // '';
        return $text if !defined $want || $text =~ $want;
        sleep 0.05;
    }
    return $text;
}

1;
