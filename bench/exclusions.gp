# Plot of bench/apply.sh's sweep: apply time against the number of excluded
# CIDRs. Call: gnuplot -e "datafile='sweep.dat'; outfile='x.png'" exclusions.gp
# datafile columns: cidrs, median ms of meshcap, nft -f, iptables (6 execs),
# iptables-legacy-restore + ip6tables-legacy-restore only. The x axis is
# categorical (one tick per measured point), so 0 and 100 do not collide.
set terminal pngcairo size 900,560 font "DejaVu Sans,11" noenhanced
set output outfile
set title "Programming the capture rules in a fresh network namespace\n(median wall time per run, including exec; lower is better)"
set xlabel "excluded outbound CIDRs (--exclude-outbound-cidrs); points evenly spaced, not to scale"
set ylabel "wall time, ms (log scale)"
set logscale y
set yrange [1:300]
set format y "%g"
set grid ytics mytics
set key top left box opaque
set offsets 0.2, 0.2, 0, 0
# The targets of the issue: 2 ms for the default configuration, 20 ms for 10,000 CIDRs.
set arrow from graph 0, first 2 to graph 1, first 2 nohead dt 2 lc rgb "#b00000"
set label "target, default config: 2 ms" at graph 0.99, first 2.25 right tc rgb "#b00000"
set arrow from graph 0, first 20 to graph 1, first 20 nohead dt 2 lc rgb "#b00000"
set label "target, 10,000 CIDRs: 20 ms" at graph 0.99, first 17.5 right tc rgb "#b00000"
plot datafile using 0:4:xtic(1) with linespoints lw 2 pt 7 title "istio-iptables style: 2 saves, 2 legacy restores, 2 saves", \
     datafile using 0:5 with linespoints lw 2 pt 5 title "iptables-legacy-restore + ip6tables-legacy-restore only", \
     datafile using 0:3 with linespoints lw 2 pt 9 title "nft -f of meshcap's dry-run script", \
     datafile using 0:2 with linespoints lw 2 pt 13 title "meshcap apply (IPv4+IPv6, verify rules)"
