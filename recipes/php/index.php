<?php
// The page the php arrow serves when no docroot volume is mounted on /srv/www.
$n = 6 * 7;
?>
<!DOCTYPE html>
<html><head><title>PHP in an arrow</title></head>
<body>
<h1>Hello from PHP <?= PHP_VERSION ?></h1>
<p>6 * 7 = <?= $n ?>, rendered at <?= gmdate('Y-m-d') ?> by <?= php_sapi_name() ?>.</p>
</body></html>
