/*
 * country.c -- the list of ISO 3166-1 alpha-2 codes (country.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "country.h"

bool
country_valid(const char *code)
{
	/* ISO 3166-1 alpha-2, as assigned (the tz database's iso3166.tab). */
	static const char codes[] =
	    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE "
	    "BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD "
	    "CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
	    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF "
	    "GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU "
	    "ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
	    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME "
	    "MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA "
	    "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
	    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI "
	    "SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK "
	    "TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
	    "VN VU WF WS YE YT ZA ZM ZW XK";
	char up[3];

	if (code == NULL || strlen(code) != 2 ||
	    !isalpha((unsigned char)code[0]) ||
	    !isalpha((unsigned char)code[1]))
		return false;
	up[0] = (char)toupper((unsigned char)code[0]);
	up[1] = (char)toupper((unsigned char)code[1]);
	up[2] = '\0';
	for (const char *p = codes; *p != '\0'; p += 3) {
		if (p[0] == up[0] && p[1] == up[1])
			return true;
		if (p[2] == '\0')
			break;
	}
	return false;
}
