import org.cloudbus.cloudsim.examples.power.planetlab.PlanetLabRunner;

// Run INPUT OUTPUT DAY ALLOCATION [SELECTION PARAMETER]: one of CloudSim
// 4.0's PlanetLab examples (ThrMmt, IqrMmt, ..., Dvfs) on any day folder
// under INPUT, its statistics to OUTPUT/stats/ (byteorder.patch turns
// CloudSim's CSV output on).
public class Run {
	public static void main(String[] a) {
		new PlanetLabRunner(false, false, a[0], a[1], a[2], a[3], a.length > 4 ? a[4] : "", a.length > 5 ? a[5] : "");
	}
}
