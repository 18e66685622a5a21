# Plot of bench/datapath.sh: time per new connection against the number of
# excluded CIDRs and port ranges. Call:
#   gnuplot -e "datafile='datapath.dat'; outfile='x.png'" datapath.gp
# datafile columns: n, median µs with no rules, meshcap nft, meshcap iptables,
# istio-style chain, ipset (NaN when not measured). The x axis is categorical.
set terminal pngcairo size 900,560 font "DejaVu Sans,11" noenhanced
set output outfile
set title "Cost of a new TCP connection through the capture rules\n(connect + close to a peer namespace, median per connection; lower is better)"
set xlabel "excluded outbound CIDRs and port ranges (N of each); points evenly spaced, not to scale"
set ylabel "time per connection, µs (log scale)"
set logscale y
set format y "%g"
set grid ytics mytics
set key top left box opaque
set offsets 0.2, 0.2, 0, 0
plot datafile using 0:2:xtic(1) with lines dt 2 lw 2 title "no rules", \
     datafile using 0:5 with linespoints lw 2 pt 7 title "istio-style linear chain (legacy iptables)", \
     datafile using 0:4 with linespoints lw 2 pt 5 title "meshcap --backend iptables --ipset off (one rule per CIDR, per port range)", \
     datafile using 0:6 with linespoints lw 2 pt 9 title "meshcap --backend iptables (ipsets above 64 elements)", \
     datafile using 0:3 with linespoints lw 2 pt 13 title "meshcap (nft interval sets)"
