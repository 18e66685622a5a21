# Plot of bench/apply.sh's sweep: apply time against the number of excluded
# CIDRs. Call: gnuplot -e "datafile='sweep.dat'; outfile='x.png'" exclusions.gp
# datafile columns: cidrs, median ms of meshcap, nft -f, iptables (6 execs),
# iptables-legacy-restore + ip6tables-legacy-restore only.
set terminal pngcairo size 900,560 font "DejaVu Sans,11" noenhanced
set output outfile
set title "Time to program the capture rules in a fresh network namespace (median)"
set xlabel "excluded outbound CIDRs (--exclude-outbound-cidrs)"
set ylabel "wall time, ms (log scale)"
set logscale y
set format y "%g"
set grid xtics ytics mytics
set key top left box opaque
set xtics ("0" 0, "100" 100, "1000" 1000, "3000" 3000, "10000" 10000)
set xrange [-300:10300]
plot datafile using 1:4 with linespoints lw 2 pt 7 title "istio-iptables style: 2 saves, 2 legacy restores, 2 saves", \
     datafile using 1:5 with linespoints lw 2 pt 5 title "iptables-legacy-restore + ip6tables-legacy-restore only", \
     datafile using 1:3 with linespoints lw 2 pt 9 title "nft -f of meshcap's dry-run script", \
     datafile using 1:2 with linespoints lw 2 pt 13 title "meshcap apply (IPv4+IPv6, verify rules)"
